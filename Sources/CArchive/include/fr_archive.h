// libarchive, loaded when a layer is first unpacked rather than when fargate-run starts.
// libarchive brings ten shared libraries with it (ICU and libxml2 among them); loading and
// relocating them cost every fargate-run process about a millisecond, and most runs unpack
// nothing (the image is cached). The fr_-prefixed functions have libarchive's prototypes and
// call it; fr_archive_open_library must have succeeded before any of them is called.
#ifndef FR_ARCHIVE_H
#define FR_ARCHIVE_H

#include <stddef.h>
#include <archive.h>
#include <archive_entry.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads libarchive (once per process). 0, or -1 with the loader's message in `err`.
int fr_archive_open_library(char *err, size_t errlen);

struct archive *fr_archive_read_new(void);
int fr_archive_read_free(struct archive *);
int fr_archive_read_support_filter_all(struct archive *);
int fr_archive_read_support_format_raw(struct archive *);
int fr_archive_read_support_format_tar(struct archive *);
int fr_archive_read_support_format_gnutar(struct archive *);
int fr_archive_read_open(struct archive *, void *client_data, archive_open_callback *,
                         archive_read_callback *, archive_close_callback *);
int fr_archive_read_next_header(struct archive *, struct archive_entry **);
la_ssize_t fr_archive_read_data(struct archive *, void *, size_t);
int fr_archive_read_data_block(struct archive *, const void **buff, size_t *size, la_int64_t *offset);
const char *fr_archive_error_string(struct archive *);

const char *fr_archive_entry_pathname(struct archive_entry *);
const char *fr_archive_entry_hardlink(struct archive_entry *);
const char *fr_archive_entry_symlink(struct archive_entry *);
__LA_MODE_T fr_archive_entry_filetype(struct archive_entry *);
__LA_MODE_T fr_archive_entry_perm(struct archive_entry *);
la_int64_t fr_archive_entry_size(struct archive_entry *);
la_int64_t fr_archive_entry_uid(struct archive_entry *);
la_int64_t fr_archive_entry_gid(struct archive_entry *);
dev_t fr_archive_entry_rdevmajor(struct archive_entry *);
dev_t fr_archive_entry_rdevminor(struct archive_entry *);
time_t fr_archive_entry_atime(struct archive_entry *);
long fr_archive_entry_atime_nsec(struct archive_entry *);
int fr_archive_entry_atime_is_set(struct archive_entry *);
time_t fr_archive_entry_mtime(struct archive_entry *);
long fr_archive_entry_mtime_nsec(struct archive_entry *);
int fr_archive_entry_xattr_reset(struct archive_entry *);
int fr_archive_entry_xattr_next(struct archive_entry *, const char **name, const void **value, size_t *size);

#ifdef __cplusplus
}
#endif
#endif
