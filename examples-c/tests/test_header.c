/*
 * The public header itself: it compiles on its own (it is included first
 * here), defines only names in the library's namespace, and its constants
 * agree with what the library reports.
 */
#include "codomyrmex_keys.h"

#include "check.h"

int main(void)
{
    check_section("constants agree with the library");
    CHECK_SIZE(CODOMYRMEX_MAX_DIGEST_LEN, 64);
    CHECK_SIZE(codomyrmex_hash_digest_len(CODOMYRMEX_SHA512), CODOMYRMEX_MAX_DIGEST_LEN);
    CHECK_SIZE(CODOMYRMEX_MAX_KEY_LEN, 65536);
    CHECK_SIZE(CODOMYRMEX_MAX_KEY_ID_LEN, 128);
    CHECK_SIZE(CODOMYRMEX_TAG_OVERHEAD, 5);
    CHECK_SIZE(CODOMYRMEX_SHA256, 1);
    CHECK_SIZE(CODOMYRMEX_SHA384, 2);
    CHECK_SIZE(CODOMYRMEX_SHA512, 3);
    CHECK_SIZE(sizeof(codomyrmex_hash_alg), 4);

    check_section("only CODOMYRMEX_ names");
    /* Every macro the header defines must start with CODOMYRMEX_ (the
     * include guard CODOMYRMEX_KEYS_H included): a bare name collides with
     * the including program's own. These are the bare names the header
     * could plausibly leak from the Rust sources. */
#ifdef TAG_OVERHEAD
    CHECK(!"codomyrmex_keys.h defines the unprefixed macro TAG_OVERHEAD "
           "(the contract's name is CODOMYRMEX_TAG_OVERHEAD)");
#endif
#ifdef MAX_DIGEST_LEN
    CHECK(!"codomyrmex_keys.h defines the unprefixed macro MAX_DIGEST_LEN");
#endif
#ifdef MAX_KEY_LEN
    CHECK(!"codomyrmex_keys.h defines the unprefixed macro MAX_KEY_LEN");
#endif
#ifdef MAX_KEY_ID_LEN
    CHECK(!"codomyrmex_keys.h defines the unprefixed macro MAX_KEY_ID_LEN");
#endif
    CHECK(1);
    return check_summary("test_header");
}
