/*  clients/credentials.c — the session file of `flow`; the format and
 *  its invariants are in credentials.h.  Buffers that held a token are
 *  wiped before they are freed.
 */
#include "clients/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FILE_NAME "credentials"

/*  The fields as data: the key of each line and where its value goes.  */
typedef struct {
    const char *key;
    size_t offset;
} s_field_t;

static const s_field_t s_fields[] = {
    { "node", offsetof(fl_credentials_t, node) },
    { "user_id", offsetof(fl_credentials_t, user_id) },
    { "email", offsetof(fl_credentials_t, email) },
    { "access_token", offsetof(fl_credentials_t, access_token) },
    { "refresh_token", offsetof(fl_credentials_t, refresh_token) },
};

#define S_N_FIELDS (sizeof s_fields / sizeof s_fields[0])

static char **
s_field(fl_credentials_t *self, const s_field_t *field)
{
    return (char **) ((char *) self + field->offset);
}

fl_credentials_t *
fl_credentials_new(void)
{
    return calloc(1, sizeof(fl_credentials_t));
}

void
fl_credentials_destroy(fl_credentials_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fl_credentials_t *self = *self_p;
    for (size_t i = 0; i < S_N_FIELDS; i++) {
        char **value = s_field(self, &s_fields[i]);
        if (*value)
            sodium_memzero(*value, strlen(*value));
        free(*value);
    }
    free(self);
    *self_p = NULL;
}

int
fl_credentials_set(char **field_p, const char *value)
{
    char *copy = strdup(value ? value : "");
    if (!copy)
        return -1;
    free(*field_p);
    *field_p = copy;
    return 0;
}

/*  $FLOW_CONFIG_DIR, else $XDG_CONFIG_HOME/flow (an absolute one only, as
 *  the XDG spec asks), else $HOME/.config/flow.  */
static int
s_dir(char *dir, size_t cap)
{
    const char *env = getenv("FLOW_CONFIG_DIR");
    int n;
    if (env && env[0])
        n = snprintf(dir, cap, "%s", env);
    else if ((env = getenv("XDG_CONFIG_HOME")) && env[0] == '/')
        n = snprintf(dir, cap, "%s/flow", env);
    else if ((env = getenv("HOME")) && env[0])
        n = snprintf(dir, cap, "%s/.config/flow", env);
    else
        return -1;
    return n < 0 || (size_t) n >= cap ? -1 : 0;
}

int
fl_credentials_path(char *path, size_t cap)
{
    char dir[4096];
    if (s_dir(dir, sizeof dir) != 0)
        return -1;
    int n = snprintf(path, cap, "%s/" S_FILE_NAME, dir);
    return n < 0 || (size_t) n >= cap ? -1 : 0;
}

/*  ---------------------------------------------------------------------
 *  Loading
 */

/*  Applies one "key=value" line (its line end already dropped).  */
static int
s_parse_line(fl_credentials_t *self, char *line, const char *path, int number,
             char *error, size_t cap)
{
    if (!line[0] || line[0] == '#')
        return 0;
    char *equals = strchr(line, '=');
    if (!equals) {
        snprintf(error, cap, "%s line %d is not key=value", path, number);
        return -1;
    }
    *equals = 0;
    for (size_t i = 0; i < S_N_FIELDS; i++) {
        if (strcmp(line, s_fields[i].key) != 0)
            continue;
        if (fl_credentials_set(s_field(self, &s_fields[i]), equals + 1) != 0) {
            snprintf(error, cap, "out of memory reading %s", path);
            return -1;
        }
    }
    return 0;
}

static int
s_parse_file(fl_credentials_t *self, FILE *file, const char *path, char *error, size_t cap)
{
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    int number = 0;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &line_cap, file)) >= 0) {
        number++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        rc = s_parse_line(self, line, path, number, error, cap);
    }
    if (rc == 0 && ferror(file)) {
        snprintf(error, cap, "cannot read %s: %s", path, strerror(errno));
        rc = -1;
    }
    if (line)
        sodium_memzero(line, line_cap);
    free(line);
    if (rc == 0 && (!self->access_token || !self->access_token[0])) {
        snprintf(error, cap, "%s holds no access token", path);
        rc = -1;
    }
    return rc;
}

int
fl_credentials_load(fl_credentials_t **self_p, char *error, size_t cap)
{
    *self_p = NULL;
    char path[4200];
    if (fl_credentials_path(path, sizeof path) != 0) {
        snprintf(error, cap, "no configuration directory: set FLOW_CONFIG_DIR or HOME");
        return -1;
    }
    FILE *file = fopen(path, "re");
    if (!file && errno == ENOENT)
        return 1;
    if (!file) {
        snprintf(error, cap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    fl_credentials_t *self = fl_credentials_new();
    int rc = -1;
    if (!self)
        snprintf(error, cap, "out of memory reading %s", path);
    else
        rc = s_parse_file(self, file, path, error, cap);
    fclose(file);
    if (rc != 0) {
        fl_credentials_destroy(&self);
        return -1;
    }
    *self_p = self;
    return 0;
}

/*  ---------------------------------------------------------------------
 *  Saving
 */

/*  Makes DIR and its missing parents, each 0700.  */
static int
s_make_dir(char *dir)
{
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int rc = mkdir(dir, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int
s_write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        text += n;
        len -= (size_t) n;
    }
    return 0;
}

/*  The file's text, in a buffer the caller wipes and frees; NULL when a
 *  value holds a line break (ERROR says which) or memory runs out.  */
static char *
s_render(const fl_credentials_t *self, size_t *len_p, char *error, size_t cap)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) {
        snprintf(error, cap, "out of memory writing the credentials");
        return NULL;
    }
    fprintf(out, "# flow credentials: keep this file private\n");
    int rc = 0;
    for (size_t i = 0; i < S_N_FIELDS; i++) {
        const char *value = *s_field((fl_credentials_t *) self, &s_fields[i]);
        if (!value)
            continue;
        if (strpbrk(value, "\r\n")) {
            snprintf(error, cap, "the %s holds a line break", s_fields[i].key);
            rc = -1;
        }
        fprintf(out, "%s=%s\n", s_fields[i].key, value);
    }
    if (fclose(out) != 0 && rc == 0) {
        snprintf(error, cap, "out of memory writing the credentials");
        rc = -1;
    }
    if (rc != 0 && text) {
        sodium_memzero(text, len);
        free(text);
        text = NULL;
    }
    *len_p = len;
    return text;
}

/*  Writes TEXT to a new 0600 file beside PATH and renames it over PATH.  */
static int
s_replace(const char *dir, const char *path, const char *text, size_t len,
          char *error, size_t cap)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s/." S_FILE_NAME ".XXXXXX", dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(error, cap, "cannot create a file in %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = fchmod(fd, 0600);
    if (rc == 0)
        rc = s_write_all(fd, text, len);
    if (rc == 0)
        rc = fsync(fd);
    int err = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        err = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        snprintf(error, cap, "cannot write %s: %s", path, strerror(err));
        return -1;
    }
    int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        fsync(dir_fd);
        close(dir_fd);
    }
    return 0;
}

int
fl_credentials_save(const fl_credentials_t *self, char *error, size_t cap)
{
    char dir[4096];
    char path[4200];
    if (s_dir(dir, sizeof dir) != 0 || fl_credentials_path(path, sizeof path) != 0) {
        snprintf(error, cap, "no configuration directory: set FLOW_CONFIG_DIR or HOME");
        return -1;
    }
    if (s_make_dir(dir) != 0) {
        snprintf(error, cap, "cannot make %s: %s", dir, strerror(errno));
        return -1;
    }
    size_t len = 0;
    char *text = s_render(self, &len, error, cap);
    if (!text)
        return -1;
    int rc = s_replace(dir, path, text, len, error, cap);
    sodium_memzero(text, len);
    free(text);
    return rc;
}

int
fl_credentials_remove(char *error, size_t cap)
{
    char path[4200];
    if (fl_credentials_path(path, sizeof path) != 0) {
        snprintf(error, cap, "no configuration directory: set FLOW_CONFIG_DIR or HOME");
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(error, cap, "cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
