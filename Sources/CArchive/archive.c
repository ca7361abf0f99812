// Calls into libarchive through pointers looked up when it is first needed (see fr_archive.h).
// The pointers' types come from libarchive's own declarations (__typeof__ takes the type only,
// no reference to the symbol), so a call with the wrong arguments does not compile.
#include "fr_archive.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define FR_ARCHIVE_FUNCTIONS(X) \
    X(archive_read_new) X(archive_read_free) X(archive_read_support_filter_all) \
    X(archive_read_support_format_raw) X(archive_read_support_format_tar) \
    X(archive_read_support_format_gnutar) X(archive_read_open) X(archive_read_next_header) \
    X(archive_read_data) X(archive_read_data_block) X(archive_error_string) \
    X(archive_entry_pathname) X(archive_entry_hardlink) X(archive_entry_symlink) \
    X(archive_entry_filetype) X(archive_entry_perm) X(archive_entry_size) X(archive_entry_uid) \
    X(archive_entry_gid) X(archive_entry_rdevmajor) X(archive_entry_rdevminor) \
    X(archive_entry_atime) X(archive_entry_atime_nsec) X(archive_entry_atime_is_set) \
    X(archive_entry_mtime) X(archive_entry_mtime_nsec) X(archive_entry_xattr_reset) \
    X(archive_entry_xattr_next)

static struct {
#define FR_FIELD(name) __typeof__(&name) name;
    FR_ARCHIVE_FUNCTIONS(FR_FIELD)
#undef FR_FIELD
} lib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];

static void load(void) {
    // The soname of every libarchive since 3.0 (2011); the unversioned name only where the
    // development package is installed.
    void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libarchive.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load libarchive (libarchive.so.13): %s", e ? e : "unknown error");
        return;
    }
#define FR_LOOKUP(name)                                                                          \
    if (!(lib.name = (__typeof__(&name))dlsym(h, #name))) {                                      \
        snprintf(load_error, sizeof load_error, "libarchive lacks %s (too old a version)", #name); \
        return;                                                                                  \
    }
    FR_ARCHIVE_FUNCTIONS(FR_LOOKUP)
#undef FR_LOOKUP
}

int fr_archive_open_library(char *err, size_t errlen) {
    pthread_once(&once, load);
    if (!load_error[0]) return 0;
    if (errlen) snprintf(err, errlen, "%s", load_error);
    return -1;
}

struct archive *fr_archive_read_new(void) { return lib.archive_read_new(); }
int fr_archive_read_free(struct archive *a) { return lib.archive_read_free(a); }
int fr_archive_read_support_filter_all(struct archive *a) { return lib.archive_read_support_filter_all(a); }
int fr_archive_read_support_format_raw(struct archive *a) { return lib.archive_read_support_format_raw(a); }
int fr_archive_read_support_format_tar(struct archive *a) { return lib.archive_read_support_format_tar(a); }
int fr_archive_read_support_format_gnutar(struct archive *a) { return lib.archive_read_support_format_gnutar(a); }
int fr_archive_read_open(struct archive *a, void *client, archive_open_callback *o, archive_read_callback *r,
                         archive_close_callback *c) {
    return lib.archive_read_open(a, client, o, r, c);
}
int fr_archive_read_next_header(struct archive *a, struct archive_entry **e) { return lib.archive_read_next_header(a, e); }
la_ssize_t fr_archive_read_data(struct archive *a, void *buf, size_t n) { return lib.archive_read_data(a, buf, n); }
int fr_archive_read_data_block(struct archive *a, const void **buff, size_t *size, la_int64_t *offset) {
    return lib.archive_read_data_block(a, buff, size, offset);
}
const char *fr_archive_error_string(struct archive *a) { return lib.archive_error_string(a); }

const char *fr_archive_entry_pathname(struct archive_entry *e) { return lib.archive_entry_pathname(e); }
const char *fr_archive_entry_hardlink(struct archive_entry *e) { return lib.archive_entry_hardlink(e); }
const char *fr_archive_entry_symlink(struct archive_entry *e) { return lib.archive_entry_symlink(e); }
__LA_MODE_T fr_archive_entry_filetype(struct archive_entry *e) { return lib.archive_entry_filetype(e); }
__LA_MODE_T fr_archive_entry_perm(struct archive_entry *e) { return lib.archive_entry_perm(e); }
la_int64_t fr_archive_entry_size(struct archive_entry *e) { return lib.archive_entry_size(e); }
la_int64_t fr_archive_entry_uid(struct archive_entry *e) { return lib.archive_entry_uid(e); }
la_int64_t fr_archive_entry_gid(struct archive_entry *e) { return lib.archive_entry_gid(e); }
dev_t fr_archive_entry_rdevmajor(struct archive_entry *e) { return lib.archive_entry_rdevmajor(e); }
dev_t fr_archive_entry_rdevminor(struct archive_entry *e) { return lib.archive_entry_rdevminor(e); }
time_t fr_archive_entry_atime(struct archive_entry *e) { return lib.archive_entry_atime(e); }
long fr_archive_entry_atime_nsec(struct archive_entry *e) { return lib.archive_entry_atime_nsec(e); }
int fr_archive_entry_atime_is_set(struct archive_entry *e) { return lib.archive_entry_atime_is_set(e); }
time_t fr_archive_entry_mtime(struct archive_entry *e) { return lib.archive_entry_mtime(e); }
long fr_archive_entry_mtime_nsec(struct archive_entry *e) { return lib.archive_entry_mtime_nsec(e); }
int fr_archive_entry_xattr_reset(struct archive_entry *e) { return lib.archive_entry_xattr_reset(e); }
int fr_archive_entry_xattr_next(struct archive_entry *e, const char **name, const void **value, size_t *size) {
    return lib.archive_entry_xattr_next(e, name, value, size);
}
