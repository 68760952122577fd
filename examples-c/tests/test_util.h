/*
 * Helpers shared by the C tests: hex decoding, a deterministic PRNG,
 * temporary directories and small file operations. They abort the program
 * on a failure that is a bug in the test itself (bad hex in the source, a
 * temporary directory that cannot be made), so a test never runs on
 * broken ground.
 */
#ifndef CODOMYRMEX_TEST_UTIL_H
#define CODOMYRMEX_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Large enough for every path the tests build. */
#define TEST_PATH_MAX 4096

/* Decodes the hex string `hex` (whitespace ignored) into `out` and returns
 * the number of bytes. Aborts on bad hex or if `cap` is too small. */
size_t hex_decode(const char *hex, uint8_t *out, size_t cap);

/* xorshift64*: reproducible pseudo-random numbers for chunk sizes and test
 * data (not for keys). `state` must start nonzero. */
uint64_t test_rand(uint64_t *state);

/* Fills `buf` with pseudo-random bytes from `state`. */
void test_rand_fill(uint64_t *state, uint8_t *buf, size_t len);

/* Creates a fresh private directory under $TMPDIR (else /tmp), named after
 * `tag`, and writes its path to `out`. Aborts on failure. */
void make_temp_dir(const char *tag, char out[TEST_PATH_MAX]);

/* Removes `path` and everything below it (symbolic links are removed, not
 * followed). Returns true if it is gone. */
bool remove_tree(const char *path);

/* `out` = `dir` + "/" + `name`. Aborts if it does not fit. */
void path_join(char out[TEST_PATH_MAX], const char *dir, const char *name);

/* Creates (or truncates) the file `path` with `len` bytes of `data` and
 * then sets its mode to exactly `mode`. Returns true on success. */
bool write_file(const char *path, const void *data, size_t len, mode_t mode);

/* True if `path` exists (without following a final symbolic link). */
bool path_exists(const char *path);

/* The permission bits of `path` (lstat), or -1 if it cannot be inspected. */
int path_mode(const char *path);

/* Number of entries in directory `path` other than "." and "..", or -1. */
int count_entries(const char *path);

#endif /* CODOMYRMEX_TEST_UTIL_H */
