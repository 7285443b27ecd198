/* test_git_blob_hex.c - dx_git_blob_hex gives the ids `git hash-object` gives, without
 * libgit2 being initialised (a session hashes files and no longer starts libgit2). */
#include "test.h"

#include "diaryx/git.h"

TEST(test_blob_ids_match_git_hash_object_without_libgit2)
{
    char hex[DX_GIT_OID_HEX];
    /* printf '' | git hash-object --stdin, and so on. */
    CHECK_EQ_INT(dx_git_blob_hex("", 0, hex), 0);
    CHECK_EQ_STR(hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    CHECK_EQ_INT(dx_git_blob_hex("hello\n", 6, hex), 0);
    CHECK_EQ_STR(hex, "ce013625030ba8dba906f756967f9e9ca394464a");
    CHECK_EQ_INT(dx_git_blob_hex("a\0b", 3, hex), 0); /* bytes, not a C string */
    CHECK_EQ_STR(hex, "20b5be91886d0b6f26dc98a225c0dac05fe2c86e");
}

int main(void)
{
    RUN(test_blob_ids_match_git_hash_object_without_libgit2);
    return TEST_REPORT();
}
