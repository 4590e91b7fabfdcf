/*  clients/fetch.h — a feed fetched over HTTP(S) with libcurl, for
 *  `flowctl import URL`.
 *
 *  Only http and https, also across redirects (at most FL_FETCH_REDIRECTS);
 *  connect and total timeouts; a body larger than the limit is refused,
 *  not truncated; an HTTP status of 400 or more is an error naming it.
 */
#ifndef FL_FETCH_H
#define FL_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#define FL_FETCH_REDIRECTS 5
#define FL_FETCH_CONNECT_TIMEOUT_S 10
#define FL_FETCH_TIMEOUT_S 120

/*  True for a URL with a scheme ("xyz://...").  */
bool fl_fetch_is_url(const char *text);

/*  True for an http:// or https:// URL.  */
bool fl_fetch_is_http(const char *text);

/*  Fetches URL: *TEXT_P gets the body, NUL-terminated (the caller frees
 *  it), CONTENT_TYPE (CT_LEN bytes) the response's media type ("" when
 *  none).  At most MAX_BYTES of body.  Returns 0, or -1 with the reason in
 *  WHY (WHY_LEN bytes).  */
int fl_fetch(const char *url, size_t max_bytes, char **text_p, char *content_type,
             size_t ct_len, char *why, size_t why_len);

/*  The host of URL into HOST (HOST_LEN bytes); "" when it has none.  */
void fl_fetch_host(const char *url, char *host, size_t host_len);

#endif
