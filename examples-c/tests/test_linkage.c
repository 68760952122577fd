/*
 * Linkage: the ".shared" build must load libcodomyrmex_keys.so, found
 * through the program's rpath (ctest runs it with an empty LD_LIBRARY_PATH),
 * and the ".static" build must not load any shared codomyrmex_keys at all.
 */
#define _GNU_SOURCE /* dl_iterate_phdr */

#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codomyrmex_keys.h"

#ifndef CODOMYRMEX_LINKED_SHARED
#error "the build must define CODOMYRMEX_LINKED_SHARED (1 or 0)"
#endif

struct search {
    int found;
    char path[PATH_MAX];
};

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
    struct search *search = data;
    const char *name = info->dlpi_name;

    (void)size;
    if (name != NULL && strstr(name, "libcodomyrmex_keys") != NULL) {
        search->found++;
        snprintf(search->path, sizeof search->path, "%s", name);
    }
    return 0;
}

int main(void)
{
    struct search search;

    memset(&search, 0, sizeof search);
    dl_iterate_phdr(visit, &search);

    /* The library works either way. */
    check_section("library answers");
    CHECK(codomyrmex_version() != NULL);
    CHECK_SIZE(codomyrmex_hash_digest_len(CODOMYRMEX_SHA256), 32);

#if CODOMYRMEX_LINKED_SHARED
    check_section("shared: libcodomyrmex_keys.so is loaded from the build's library");
    CHECK_SIZE(search.found, 1);
    if (search.found == 1) {
        char loaded[PATH_MAX];
        char expected[PATH_MAX];

        printf("loaded: %s\n", search.path);
        CHECK(realpath(search.path, loaded) != NULL);
        CHECK(realpath(CODOMYRMEX_SHARED_LIB_PATH, expected) != NULL);
        CHECK_STR(loaded, expected);
    }
    {
        const char *ld_path = getenv("LD_LIBRARY_PATH");

        /* ctest empties it, so the library above came through the rpath. */
        if (ld_path != NULL && ld_path[0] != '\0') {
            printf("note: LD_LIBRARY_PATH is set (%s); the rpath is not proven\n", ld_path);
        }
    }
#else
    check_section("static: no shared codomyrmex_keys is loaded");
    if (!CHECK_SIZE(search.found, 0)) {
        fprintf(stderr, "    loaded: %s\n", search.path);
    }
#endif
    return check_summary(CODOMYRMEX_LINKED_SHARED ? "test_linkage (shared)"
                                                  : "test_linkage (static)");
}
