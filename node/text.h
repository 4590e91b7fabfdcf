/*  node/text.h — checking and normalising text that comes from clients.
 *
 *  Every string a client sends is checked here before it is stored or
 *  compared: valid UTF-8 (libunistring u8_check), no control characters,
 *  bounded length.  Comparable text (emails, traits, interests, tags) is
 *  normalised once on the way in: trimmed, inner white space collapsed to
 *  one space, NFKC-normalised and case-folded (libunistring u8_casefold),
 *  so equal-looking input stores equal bytes.  Errors name the field.
 */
#ifndef FL_TEXT_H
#define FL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define FL_TEXT_EMAIL_MAX 254

/*  True when S (LEN bytes) is valid UTF-8 (no overlong forms, surrogates
 *  or truncated sequences) with no control characters: C0 (including NUL
 *  and newline), DEL or C1.  */
bool fl_text_valid(const char *s, size_t len);

/*  Checks a free-text field FIELD: valid (as above, except that a newline
 *  is allowed when MULTILINE), at most MAX_CHARS code points, and not empty
 *  or all white space when REQUIRED.  Returns 0, or FL_E_INVAL with a
 *  message naming FIELD in WHY ("bio: not valid UTF-8").  */
int fl_text_check(const char *field, const char *s, size_t max_chars, bool required,
                  bool multiline, char *why, size_t whylen);

/*  Normalises IN into OUT (capacity CAP > 0, NUL-terminated): NFKC
 *  case-folded, trimmed, each run of Unicode white space collapsed to one
 *  ASCII space ("  Jazz   Music " -> "jazz music").  Folding is
 *  idempotent.  Errors (OUT is then ""): FL_E_INVAL (not valid UTF-8,
 *  control characters), FL_E_TOOBIG (does not fit CAP), FL_E_NOMEM.  */
int fl_text_fold(const char *in, char *out, size_t cap);

/*  Checks and normalises an email address into OUT (capacity at least
 *  FL_TEXT_EMAIL_MAX + 1), folded as by fl_text_fold.  The folded form,
 *  which is what is stored, must have one '@', 1 to 64 bytes before it, a
 *  domain with a dot and no empty label, no white space, and at most
 *  FL_TEXT_EMAIL_MAX bytes.  Errors (OUT is then ""): FL_E_INVAL with a
 *  message naming FIELD in WHY, FL_E_NOMEM.  */
int fl_text_email(const char *field, const char *in, char *out, char *why, size_t whylen);

/*  A normalised list of short labels (traits, interests, tags).  */
typedef struct {
    size_t n;
    char **items;     /* n folded, distinct, non-empty items, input order */
} fl_text_list_t;

/*  Normalises N items: each folded, empties dropped, duplicates (after
 *  folding) dropped keeping the first.  Refuses (FL_E_INVAL) an item that
 *  is not valid text or has more than MAX_CHARS code points after folding,
 *  with WHY naming FIELD and the input index ("traits[3]: longer than 40
 *  characters"), and a list of more than MAX_ITEMS distinct items ("traits:
 *  more than 10 items").  Other error: FL_E_NOMEM.  On success OUT owns its
 *  strings: free with fl_text_list_release(); on error OUT is empty.  */
int fl_text_list(const char *field, char *const *items, size_t n, size_t max_items,
                 size_t max_chars, fl_text_list_t *out, char *why, size_t whylen);

/*  Frees LIST's strings and leaves it empty; tolerates NULL.  */
void fl_text_list_release(fl_text_list_t *list);

#endif
