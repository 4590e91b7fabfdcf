/*  actors/user/user.h — accounts, sessions, profiles and roles.
 *
 *  The user actor owns, per partition: users (UserRecord by user id),
 *  emails (EmailRecord by normalised email), sessions (SessionRecord by
 *  user id and session id) and revocations (RevocationRecord by session
 *  id).  A user id is chosen at sign-up so that it hashes to the same
 *  partition as the account's email: every record of an account lives in
 *  one partition, so each request below touches one partition and one
 *  owner, in one transaction — also once partitions live on different
 *  nodes.
 *
 *  Passwords are hashed and verified with Argon2id on the worker pool
 *  (fl_call_defer); the actor's loop never runs it.  Tokens: node/token.h.
 *  Privacy of profile fields: actors/user/privacy.h.
 */
#ifndef FL_USER_H
#define FL_USER_H

#include "node/call.h"
#include "node/requests.h"
#include "storage/store.h"

/*  Opens the user actor's databases and prepares the decoy password hash
 *  used to answer logins of unknown emails in the same time as known
 *  ones.  Called once by the supervisor before any actor starts.
 *  Errors: those of fl_store_dbi, FL_E_NOMEM.  */
int fl_user_init(fl_store_t *store, uint64_t pwhash_ops, uint64_t pwhash_mem_kb);

/*  Checks and handlers of the request table (node/requests.c).  */
fl_check_fn fl_user_check_sign_up;
fl_check_fn fl_user_check_login;
fl_check_fn fl_user_check_refresh;
fl_check_fn fl_user_check_self;
fl_check_fn fl_user_check_change_password;
fl_check_fn fl_user_check_get_profile;
fl_check_fn fl_user_check_update_profile;
fl_check_fn fl_user_check_set_role;
fl_check_fn fl_user_check_get_account;
fl_check_fn fl_user_check_relation_update;
fl_check_fn fl_user_check_standing;
fl_check_fn fl_user_check_history;

fl_handler_fn fl_user_sign_up;
fl_handler_fn fl_user_sign_up_resume;
fl_handler_fn fl_user_login;
fl_handler_fn fl_user_login_resume;
fl_handler_fn fl_user_refresh;
fl_handler_fn fl_user_logout;
fl_handler_fn fl_user_change_password;
fl_handler_fn fl_user_change_password_resume;
fl_handler_fn fl_user_delete_account;
fl_handler_fn fl_user_delete_account_resume;
fl_handler_fn fl_user_get_profile;
fl_handler_fn fl_user_update_profile;
fl_handler_fn fl_user_set_role;
fl_handler_fn fl_user_get_account;
fl_handler_fn fl_user_relation_update;
fl_handler_fn fl_user_standing;
fl_handler_fn fl_user_history;

#endif
