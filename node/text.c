/*  node/text.c — checking and normalising client text; see text.h.
 *
 *  Validity is decided in one place, s_scan: libunistring's u8_check for
 *  the encoding (it refuses overlong forms, surrogates and truncated
 *  sequences), then a walk over the code points for controls.  Every
 *  public function checks its input with s_scan before anything else, so
 *  the folding code below only ever sees valid text without controls.
 *
 *  Folding case-folds first and trims and collapses white space second,
 *  because NFKC can itself produce a space (U+00A8 DIAERESIS becomes
 *  U+0020 U+0308); collapsing last means a folded string never starts or
 *  ends with white space, holds no white space but single ASCII spaces,
 *  and folds to itself.  The folding language is always the neutral one,
 *  never the process locale: the same input must store the same bytes on
 *  every node, whatever its environment.
 *
 *  Email addresses are checked in their folded form, which is what is
 *  stored and compared: an address written with U+FF20 FULLWIDTH
 *  COMMERCIAL AT folds to an ordinary one and is accepted as that.
 */
#include "node/text.h"
#include "node/error.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#define EMAIL_LOCAL_MAX 64
#define NO_INDEX SIZE_MAX

typedef enum { S_OK, S_BAD_UTF8, S_CONTROL, S_NEWLINE } s_scan_t;

static bool
s_is_control(ucs4_t uc)
{
    return uc < 0x20 || (uc >= 0x7F && uc <= 0x9F);
}

/*  What is wrong with S (LEN bytes), if anything.  A newline is S_NEWLINE
 *  unless ALLOW_NEWLINE, so that callers can say "one line" rather than
 *  "control character".  */
static s_scan_t
s_scan(const char *s, size_t len, bool allow_newline)
{
    const uint8_t *p = (const uint8_t *) s;
    if (u8_check(p, len))
        return S_BAD_UTF8;
    for (size_t i = 0; i < len;) {
        ucs4_t uc;
        i += (size_t) u8_mbtouc(&uc, p + i, len - i);
        if (uc == '\n' && allow_newline)
            continue;
        if (uc == '\n')
            return S_NEWLINE;
        if (s_is_control(uc))
            return S_CONTROL;
    }
    return S_OK;
}

/*  Writes "FIELD: ..." or "FIELD[INDEX]: ..." into WHY; returns
 *  FL_E_INVAL.  */
__attribute__((format(printf, 5, 6))) static int
s_fail(char *why, size_t whylen, const char *field, size_t index, const char *fmt, ...)
{
    int k = index == NO_INDEX ? snprintf(why, whylen, "%s: ", field)
                              : snprintf(why, whylen, "%s[%zu]: ", field, index);
    if (k < 0 || (size_t) k >= whylen)
        return FL_E_INVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + k, whylen - (size_t) k, fmt, ap);
    va_end(ap);
    return FL_E_INVAL;
}

/*  s_scan, with the finding written into WHY.  */
static int
s_check_scan(const char *field, size_t index, const char *s, size_t len, bool multiline,
             char *why, size_t whylen)
{
    switch (s_scan(s, len, multiline)) {
    case S_BAD_UTF8:
        return s_fail(why, whylen, field, index, "not valid UTF-8");
    case S_CONTROL:
        return s_fail(why, whylen, field, index, "contains a control character");
    case S_NEWLINE:
        return s_fail(why, whylen, field, index, "must be a single line");
    case S_OK:
        break;
    }
    return 0;
}

static bool
s_is_blank(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *) s;
    for (size_t i = 0; i < len;) {
        ucs4_t uc;
        i += (size_t) u8_mbtouc(&uc, p + i, len - i);
        if (!uc_is_property_white_space(uc))
            return false;
    }
    return true;
}

/*  Trims S (N bytes of valid UTF-8, room for N + 1) in place, turning each
 *  inner run of white space into one ASCII space, and NUL-terminates it.
 *  The write position never passes the read position: a run of at least
 *  one byte becomes one byte.  Returns the new length.  */
static size_t
s_collapse(uint8_t *s, size_t n)
{
    size_t w = 0;
    bool gap = false;
    for (size_t r = 0; r < n;) {
        ucs4_t uc;
        size_t k = (size_t) u8_mbtouc(&uc, s + r, n - r);
        if (uc_is_property_white_space(uc)) {
            gap = w > 0;
            r += k;
            continue;
        }
        if (gap)
            s[w++] = ' ';
        gap = false;
        memmove(s + w, s + r, k);
        w += k;
        r += k;
    }
    s[w] = '\0';
    return w;
}

/*  Folds IN (LEN bytes, already passed s_scan) into a new NUL-terminated
 *  string *RES of *RESLEN bytes.  */
static int
s_fold(const char *in, size_t len, char **res, size_t *reslen)
{
    size_t n = 0;
    uint8_t *folded = u8_casefold((const uint8_t *) in, len, NULL, UNINORM_NFKC, NULL, &n);
    if (!folded)
        return errno == ENOMEM ? FL_E_NOMEM : FL_E_INVAL;
    uint8_t *grown = realloc(folded, n + 1);
    if (!grown) {
        free(folded);
        return FL_E_NOMEM;
    }
    *reslen = s_collapse(grown, n);
    *res = (char *) grown;
    return 0;
}

bool
fl_text_valid(const char *s, size_t len)
{
    return s_scan(s, len, false) == S_OK;
}

int
fl_text_check(const char *field, const char *s, size_t max_chars, bool required,
              bool multiline, char *why, size_t whylen)
{
    assert(field && s);
    size_t len = strlen(s);
    int rc = s_check_scan(field, NO_INDEX, s, len, multiline, why, whylen);
    if (rc)
        return rc;
    if (required && s_is_blank(s, len))
        return s_fail(why, whylen, field, NO_INDEX, "must not be empty");
    if (u8_mbsnlen((const uint8_t *) s, len) > max_chars)
        return s_fail(why, whylen, field, NO_INDEX, "longer than %zu characters", max_chars);
    return 0;
}

int
fl_text_fold(const char *in, char *out, size_t cap)
{
    assert(in && out && cap > 0);
    out[0] = '\0';
    size_t len = strlen(in);
    if (s_scan(in, len, false) != S_OK)
        return FL_E_INVAL;
    char *folded;
    size_t n;
    int rc = s_fold(in, len, &folded, &n);
    if (rc)
        return rc;
    if (n >= cap) {
        free(folded);
        return FL_E_TOOBIG;
    }
    memcpy(out, folded, n + 1);
    free(folded);
    return 0;
}

/*  Checks that DOMAIN has a dot and no empty label.  */
static int
s_check_domain(const char *field, const char *domain, char *why, size_t whylen)
{
    if (!strchr(domain, '.'))
        return s_fail(why, whylen, field, NO_INDEX, "domain must contain a dot");
    if (domain[0] == '.' || domain[strlen(domain) - 1] == '.' || strstr(domain, ".."))
        return s_fail(why, whylen, field, NO_INDEX, "domain has an empty label");
    return 0;
}

/*  Checks the shape of a folded address S (N bytes).  Folding leaves no
 *  white space but single ASCII spaces, so a space is the only one to
 *  look for.  */
static int
s_check_email(const char *field, const char *s, size_t n, char *why, size_t whylen)
{
    if (n == 0)
        return s_fail(why, whylen, field, NO_INDEX, "must not be empty");
    if (n > FL_TEXT_EMAIL_MAX)
        return s_fail(why, whylen, field, NO_INDEX, "longer than %d bytes", FL_TEXT_EMAIL_MAX);
    if (strchr(s, ' '))
        return s_fail(why, whylen, field, NO_INDEX, "must not contain white space");
    const char *at = strchr(s, '@');
    if (!at || strchr(at + 1, '@'))
        return s_fail(why, whylen, field, NO_INDEX, "must contain one @");
    size_t local = (size_t) (at - s);
    if (local == 0 || local > EMAIL_LOCAL_MAX)
        return s_fail(why, whylen, field, NO_INDEX, "must have 1 to %d bytes before @",
                      EMAIL_LOCAL_MAX);
    return s_check_domain(field, at + 1, why, whylen);
}

int
fl_text_email(const char *field, const char *in, char *out, char *why, size_t whylen)
{
    assert(field && in && out);
    out[0] = '\0';
    size_t len = strlen(in);
    int rc = s_check_scan(field, NO_INDEX, in, len, false, why, whylen);
    if (rc)
        return rc;
    char *folded;
    size_t n;
    rc = s_fold(in, len, &folded, &n);
    if (rc)
        return rc;
    rc = s_check_email(field, folded, n, why, whylen);
    if (rc == 0)
        memcpy(out, folded, n + 1);
    free(folded);
    return rc;
}

static bool
s_list_has(const fl_text_list_t *list, const char *s)
{
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->items[i], s) == 0)
            return true;
    return false;
}

/*  Folds item INDEX and appends it to LIST (capacity at least INDEX + 1)
 *  unless it is empty or already there.  Lists are short, so the linear
 *  duplicate search costs less than a hash set would.  */
static int
s_list_add(fl_text_list_t *list, const char *field, size_t index, const char *item,
           size_t max_items, size_t max_chars, char *why, size_t whylen)
{
    assert(item);
    size_t len = strlen(item);
    int rc = s_check_scan(field, index, item, len, false, why, whylen);
    if (rc)
        return rc;
    char *folded;
    size_t n;
    rc = s_fold(item, len, &folded, &n);
    if (rc)
        return rc;
    if (u8_mbsnlen((const uint8_t *) folded, n) > max_chars) {
        free(folded);
        return s_fail(why, whylen, field, index, "longer than %zu characters", max_chars);
    }
    if (n == 0 || s_list_has(list, folded)) {
        free(folded);
        return 0;
    }
    if (list->n == max_items) {
        free(folded);
        return s_fail(why, whylen, field, NO_INDEX, "more than %zu items", max_items);
    }
    list->items[list->n++] = folded;
    return 0;
}

int
fl_text_list(const char *field, char *const *items, size_t n, size_t max_items,
             size_t max_chars, fl_text_list_t *out, char *why, size_t whylen)
{
    assert(field && out && (items || n == 0));
    *out = (fl_text_list_t) { 0 };
    if (n == 0)
        return 0;
    out->items = calloc(n, sizeof *out->items);
    if (!out->items)
        return FL_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = s_list_add(out, field, i, items[i], max_items, max_chars, why, whylen);
        if (rc) {
            fl_text_list_release(out);
            return rc;
        }
    }
    return 0;
}

void
fl_text_list_release(fl_text_list_t *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i]);
    free(list->items);
    *list = (fl_text_list_t) { 0 };
}
