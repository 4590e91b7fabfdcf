/*  clients/fetch.c — feeds over HTTP(S) with libcurl; see fetch.h.  */
#include "clients/fetch.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *data;
    size_t len;
    size_t max;
    bool too_big;
} s_body_t;

static size_t
s_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    s_body_t *body = arg;
    size_t n = size * nmemb;
    if (body->len + n > body->max) {
        body->too_big = true;
        return 0;                       /* curl stops with CURLE_WRITE_ERROR */
    }
    char *grown = realloc(body->data, body->len + n + 1);
    if (!grown)
        return 0;
    body->data = grown;
    memcpy(body->data + body->len, ptr, n);
    body->len += n;
    body->data[body->len] = '\0';
    return n;
}

bool
fl_fetch_is_url(const char *text)
{
    const char *colon = strstr(text, "://");
    if (!colon || colon == text)
        return false;
    for (const char *p = text; p < colon; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '+' || *p == '-'
              || *p == '.'))
            return false;
    return true;
}

bool
fl_fetch_is_http(const char *text)
{
    return strncasecmp(text, "http://", 7) == 0 || strncasecmp(text, "https://", 8) == 0;
}

void
fl_fetch_host(const char *url, char *host, size_t host_len)
{
    host[0] = '\0';
    const char *start = strstr(url, "://");
    if (!start)
        return;
    start += 3;
    const char *at = strpbrk(start, "@/?#");
    if (at && *at == '@')
        start = at + 1;
    size_t n = strcspn(start, ":/?#");
    snprintf(host, host_len, "%.*s", (int) n, start);
}

int
fl_fetch(const char *url, size_t max_bytes, char **text_p, char *content_type, size_t ct_len,
         char *why, size_t why_len)
{
    *text_p = NULL;
    content_type[0] = '\0';
    if (!fl_fetch_is_http(url)) {
        snprintf(why, why_len, "only http:// and https:// URLs are fetched, not %s", url);
        return -1;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(why, why_len, "cannot start libcurl");
        return -1;
    }
    s_body_t body = { NULL, 0, max_bytes, false };
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, (long) FL_FETCH_REDIRECTS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long) FL_FETCH_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long) FL_FETCH_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) max_bytes);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "flowctl-import/" FLOW_VERSION);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    char *type = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (type)
        snprintf(content_type, ct_len, "%.*s", (int) strcspn(type, "; "), type);
    int result = -1;
    if (body.too_big || rc == CURLE_FILESIZE_EXCEEDED)
        snprintf(why, why_len, "%s: the feed is larger than %zu bytes", url, max_bytes);
    else
    if (rc != CURLE_OK)
        snprintf(why, why_len, "%s: %s", url, error[0] ? error : curl_easy_strerror(rc));
    else
    if (status >= 400)
        snprintf(why, why_len, "%s: HTTP status %ld", url, status);
    else {
        *text_p = body.data ? body.data : calloc(1, 1);
        body.data = NULL;
        result = *text_p ? 0 : -1;
    }
    free(body.data);
    curl_easy_cleanup(curl);
    return result;
}
