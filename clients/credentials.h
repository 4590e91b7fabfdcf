/*  clients/credentials.h — the session `flow` keeps between runs.
 *
 *  One file, "credentials", in the configuration directory:
 *  $FLOW_CONFIG_DIR if set, else $XDG_CONFIG_HOME/flow, else
 *  $HOME/.config/flow.  It holds the node the session belongs to, the
 *  user, and the two tokens, as `key=value` lines:
 *
 *      # flow credentials: keep this file private
 *      node=tcp://127.0.0.1:7700
 *      user_id=u-0f3a...
 *      email=ada@example.com
 *      access_token=...
 *      refresh_token=...
 *
 *  Invariants, and why:
 *
 *  - The tokens are bearer secrets: the directory is made 0700 and the
 *    file is created 0600, never wider, before a byte is written.
 *  - A reader never sees half a file: it is written to a temporary file
 *    in the same directory, synced, and renamed over the old one.
 *  - Lines with keys this version does not know are skipped, so a newer
 *    flow's file still works; a value holds no line break (refused when
 *    saving).
 */
#ifndef FL_CREDENTIALS_H
#define FL_CREDENTIALS_H

#include <stddef.h>

typedef struct {
    char *node;
    char *user_id;
    char *email;
    char *access_token;
    char *refresh_token;
} fl_credentials_t;

/*  An empty set of credentials; NULL when memory runs out.  */
fl_credentials_t *fl_credentials_new(void);

/*  Frees SELF and sets *SELF_P to NULL; tolerates NULL.  */
void fl_credentials_destroy(fl_credentials_t **self_p);

/*  Replaces *FIELD_P (one of SELF's strings) with a copy of VALUE.
 *  Returns 0, or -1 when memory runs out (*FIELD_P is then unchanged).  */
int fl_credentials_set(char **field_p, const char *value);

/*  The path of the credentials file, written into PATH (CAP bytes).
 *  Returns 0, or -1 when no directory is configured (no HOME either) or
 *  the path does not fit.  */
int fl_credentials_path(char *path, size_t cap);

/*  Loads the credentials file.  Returns 0 and sets *SELF_P; 1 when there
 *  is no file (*SELF_P NULL); -1 with a one-line reason in ERROR (CAP
 *  bytes) when it cannot be read, lacks an access token, or memory runs
 *  out.  */
int fl_credentials_load(fl_credentials_t **self_p, char *error, size_t cap);

/*  Writes SELF atomically (see above), making the directory when it is
 *  missing.  Returns 0, or -1 with a one-line reason in ERROR.  */
int fl_credentials_save(const fl_credentials_t *self, char *error, size_t cap);

/*  Removes the credentials file; no file is not an error.  Returns 0, or
 *  -1 with a one-line reason in ERROR.  */
int fl_credentials_remove(char *error, size_t cap);

#endif
