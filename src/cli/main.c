/* main.c - `diaryx`: the command table and global options. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "diaryx/version.h"

static const cli_command COMMANDS[] = {
    {"init", cmd_init, "create a workspace (a root index README.md) in a directory"},
    {"create", cmd_create, "create an entry and link it into its directory's index"},
    {"today", cmd_today, "create or open today's daily entry"},
    {"yesterday", cmd_yesterday, "create or open yesterday's daily entry"},
    {"open", cmd_open, "open an entry (or a date's daily entry) in the editor"},
    {"property", cmd_property, "read and edit frontmatter properties"},
    {"content", cmd_content, "read and edit the body of an entry"},
    {"workspace", cmd_workspace, "show the tree and link, move, create or remove entries"},
    {"attach", cmd_attach, "add, list or remove an entry's attachments (hash, size, type)"},
    {"validate", cmd_validate, "check links and structure; --fix repairs what it can"},
    {"search", cmd_search, "search bodies or one property of every entry"},
    {"export", cmd_export, "copy an audience's entries, or everything with history (--archive)"},
    {"import", cmd_import, "bring in a workspace from a ZIP archive or a folder, with its history"},
    {"config", cmd_config, "show or change settings in config.toml"},
    {"commit", cmd_commit, "record the workspace's state as a git commit"},
    {"log", cmd_log, "the commits of the workspace or of one file"},
    {"diff", cmd_diff, "uncommitted changes (or two revisions) as a unified diff"},
    {"restore", cmd_restore, "bring the workspace or one file back to a revision"},
    {"watch", cmd_watch, "take in external edits and commit after a quiet interval"},
    {"sync", cmd_sync, "sync the workspace with a diaryx-server (login, link, now, start)"},
    {"crdt", cmd_crdt, "look into the CRDT store: sizes, a file's updates, compaction"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: diaryx [-w DIR] COMMAND [ARGS...]\n\n"
               "A journal and knowledge workspace of markdown files with YAML frontmatter.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(f, "\nGlobal options:\n"
               "  -w, --workspace DIR  use the workspace at DIR (default: the current directory\n"
               "                       or a parent of it, then config default_workspace)\n"
               "  -h, --help           show help (also after a command)\n"
               "  --version            show the version\n\n"
               "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

/* A command on a large workspace builds tens of MB of small objects (the file records, the
 * workspace document when it is needed). Faulting them in 4 KiB at a time can cost more than
 * building them: ~50 us a fault on the benchmark's virtual machine under load, ~10k faults for
 * a `diaryx commit` on 10k entries. So the heap grows in one 64 MiB step, marked for
 * transparent huge pages where the kernel offers them (THP "madvise" or "always"; elsewhere
 * the advice is ignored and nothing changes). glibc's tunable glibc.malloc.hugetlb=1 does the
 * same, from the environment. Untouched heap costs nothing; it is only address space. */
static void heap_in_huge_pages(void)
{
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE) && !defined(DX_FREE_AT_EXIT)
    const size_t step = (size_t)64 << 20, huge = (size_t)2 << 20;
    if (!mallopt(M_TOP_PAD, (int)step) || !mallopt(M_TRIM_THRESHOLD, (int)(2 * step)))
        return;
    /* Small blocks come from the heap (big ones would be mmap'ed): a few make it grow. */
    void *blocks[4] = {NULL};
    char *lo = NULL, *hi = NULL;
    for (int i = 0; i < 4; i++) {
        if (!(blocks[i] = malloc(64 << 10)))
            break;
        lo = lo ? lo : blocks[i];
        hi = sbrk(0);
        if (hi != (char *)-1 && hi > lo && (size_t)(hi - lo) >= step / 2)
            break;
    }
    char *start = lo ? (char *)(((uintptr_t)lo + huge - 1) & ~(uintptr_t)(huge - 1)) : NULL;
    if (start && hi != (char *)-1 && hi > start)
        madvise(start, (size_t)(hi - start), MADV_HUGEPAGE);
    for (int i = 0; i < 4; i++)
        free(blocks[i]);
#endif
}

int main(int argc, char **argv)
{
    heap_in_huge_pages();
    cli_ctx ctx = {NULL};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-w") || !strcmp(argv[i], "--workspace")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "diaryx: option '%s' needs a directory\n", argv[i]);
                return 2;
            }
            ctx.workspace = argv[++i];
        } else if (!strncmp(argv[i], "--workspace=", 12)) {
            ctx.workspace = argv[i] + 12;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("diaryx %s\n", dx_version());
            return 0;
        } else {
            fprintf(stderr, "diaryx: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    for (size_t c = 0; c < sizeof COMMANDS / sizeof *COMMANDS; c++) {
        if (!strcmp(argv[i], COMMANDS[c].name)) {
            int rc = COMMANDS[c].fn(&ctx, argc - i, argv + i);
            return rc == CLI_EXIT_HELP ? 0 : rc;
        }
    }
    fprintf(stderr, "diaryx: unknown command '%s' (see `diaryx --help`)\n", argv[i]);
    return 2;
}
