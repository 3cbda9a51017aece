/* fsutil: file-system steps that durability depends on. */
#ifndef SUREL_FSUTIL_H
#define SUREL_FSUTIL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* fsync()s the directory at path: makes a create, rename or unlink in it
 * durable. Returns 0 or -1 (errno set). */
int fs_fsync_dir(const char *path) __attribute__((warn_unused_result));
/* fsync()s the directory that contains path. */
int fs_fsync_parent(const char *path) __attribute__((warn_unused_result));
/* mkdir -p with mode for each directory created; 0 or -1 (errno). */
int fs_mkdir_p(const char *path, mode_t mode)
	__attribute__((warn_unused_result));
/* Writes all of data, retrying short writes and EINTR; 0 or -1 (errno). */
int fs_write_all(int fd, const void *data, size_t len)
	__attribute__((warn_unused_result));
/* pread until len bytes or EOF; returns bytes read or -1. */
ssize_t fs_pread_all(int fd, void *data, size_t len, off_t offset);
/* Waits until fd is ready for events (POLLIN, POLLOUT) or the monotonic
 * clock (time_mono_ms) reaches deadline_ms; EINTR is retried. Returns 1
 * ready, 0 deadline passed, -1 poll failed (errno). */
int fs_wait_fd(int fd, short events, uint64_t deadline_ms);
/* Sets close-on-exec / non-blocking on fd. */
int fs_set_cloexec(int fd);
int fs_set_nonblock(int fd);

#endif
