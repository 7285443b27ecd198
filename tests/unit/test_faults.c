/* test_faults.c - failing-allocator and failing-I/O injection (CONVENTIONS.md rule 14) over
 * the store, the session (import, external edits, save) and the commit, in the manner of
 * SQLite's malloc fault simulation and curl's torture mode: each scenario runs once to count
 * the calls K, then once per N in 1..K with the Nth allocation (or the Nth I/O call) failing.
 * Every injected run must end in a clean error (negative DX_E* code and a message) or in a
 * right result; afterwards, with injection off, a fresh session must open, everything stored
 * before the operation must be intact (store, files, git fsck), and the operation's edit must
 * be wholly there or wholly absent. ASan+LSan watch every run (leaks are fatal at exit).
 *
 * How calls are caught (docs/architecture.md, "Fault injection"): this binary alone is linked
 * with -Wl,--wrap=<fn> (CMakeLists.txt), so every call our objects (util, ycrdt, core and
 * this file) make to malloc, calloc, realloc, strdup, strndup and to the I/O functions below
 * goes to __wrap_<fn>, which counts it and fails the chosen one. SQLite gets this allocator
 * through sqlite3_config(SQLITE_CONFIG_MALLOC) and a VFS shim that counts its opens, reads,
 * writes, syncs and truncations as I/O calls. libgit2, libyaml and jansson allocate and do
 * I/O inside their shared libraries, which --wrap does not reach: they are not injected.
 *
 * DX_FAULTS_PERSIST=1 also runs every sweep with the failures persisting from N on (a full
 * disk, memory that stays short); the default fails the Nth call only. DX_FAULTS_ONLY=<text>
 * runs only the scenarios whose name contains it ("store", "open", "save", "commit"). */
#include "test.h"
#include "test_sh.h"

#include <dirent.h>
#include <execinfo.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diaryx/bodydoc.h"
#include "diaryx/fs.h"
#include "diaryx/history.h"

#include <git2.h>

/* ---- the counters ------------------------------------------------------------------- */

typedef struct fault {
    const char *what;
    long calls;      /* calls counted since the sweep armed it */
    long fail_at;    /* the call that fails (1-based); 0: none */
    bool persist;    /* every call from fail_at on fails */
    long failed;     /* how many calls were made to fail */
    uint64_t *sites; /* while recording: the call site of each call (a hash of its stack) */
    long nsites;
} fault;

/* A commit of a session's documents (history.h). */
static int commit_session(dx_session *s, dx_git *g, dx_commit_result *r, dx_error *err)
{
    dx_history_docs h;
    dx_history_docs_of_session(s, &h);
    return dx_history_commit(&h, g, NULL, r, err);
}
static fault f_alloc = {"allocation"}, f_io = {"I/O call"};
static int armed;      /* counting on (the calls of the operation under test only) */
static bool recording; /* the counting run records where each call comes from */
static long trace_at;  /* DX_FAULTS_TRACE */

void *__real_realloc(void *p, size_t n);

/* The call site: the three frames above the wrapper (dx_buf_grow alone says little). */
static void record_site(fault *f, long n)
{
    void *bt[6];
    int k = backtrace(bt, 6);
    uint64_t h = 1469598103934665603u;
    for (int i = 3; i < k; i++)
        h = (h ^ (uint64_t)(uintptr_t)bt[i]) * 1099511628211u;
    uint64_t *p = __real_realloc(f->sites, (size_t)n * sizeof *p);
    if (!p)
        abort();
    f->sites = p;
    f->sites[n - 1] = h;
    f->nsites = n;
}

static bool fault_hit(fault *f)
{
    if (!__atomic_load_n(&armed, __ATOMIC_RELAXED))
        return false;
    long n = __atomic_add_fetch(&f->calls, 1, __ATOMIC_RELAXED);
    if (recording)
        record_site(f, n);
    if (!f->fail_at || n < f->fail_at || (n > f->fail_at && !f->persist))
        return false;
    __atomic_add_fetch(&f->failed, 1, __ATOMIC_RELAXED);
    if (trace_at == n) { /* DX_FAULTS_TRACE=N: where the Nth call failed */
        void *bt[16];
        printf("  call %ld fails here:\n", n);
        backtrace_symbols_fd(bt, backtrace(bt, 16), 1);
    }
    return true;
}

static void arm(void)
{
    __atomic_store_n(&armed, 1, __ATOMIC_RELAXED);
}

static void disarm(void)
{
    __atomic_store_n(&armed, 0, __ATOMIC_RELAXED);
}

/* ---- allocation wrappers ---------------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

#define FAIL_ALLOC()                                                                               \
    do {                                                                                           \
        if (fault_hit(&f_alloc)) {                                                                 \
            errno = ENOMEM;                                                                        \
            return NULL;                                                                           \
        }                                                                                          \
    } while (0)

void *__wrap_malloc(size_t n)
{
    FAIL_ALLOC();
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    FAIL_ALLOC();
    return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    FAIL_ALLOC();
    return __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    FAIL_ALLOC();
    return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    FAIL_ALLOC();
    return __real_strndup(s, n);
}

/* ---- I/O wrappers ----------------------------------------------------------------------- */

int __real_open(const char *path, int flags, ...);
ssize_t __real_read(int fd, void *b, size_t n);
ssize_t __real_pread(int fd, void *b, size_t n, off_t off);
ssize_t __real_write(int fd, const void *b, size_t n);
int __real_close(int fd);
int __real_rename(const char *a, const char *b);
int __real_unlink(const char *p);
int __real_mkdir(const char *p, mode_t m);
int __real_rmdir(const char *p);
int __real_mkstemp(char *tmpl);
int __real_chmod(const char *p, mode_t m);
int __real_flock(int fd, int op);
FILE *__real_fopen(const char *p, const char *mode);
FILE *__real_fdopen(int fd, const char *mode);
size_t __real_fread(void *b, size_t s, size_t n, FILE *f);
size_t __real_fwrite(const void *b, size_t s, size_t n, FILE *f);
int __real_fputs(const char *s, FILE *f);
int __real_fflush(FILE *f);
int __real_fclose(FILE *f);

#define FAIL_IO(code, ret)                                                                         \
    do {                                                                                           \
        if (fault_hit(&f_io)) {                                                                    \
            errno = (code);                                                                        \
            return ret;                                                                            \
        }                                                                                          \
    } while (0)

int __wrap_open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    FAIL_IO(flags & O_CREAT ? ENOSPC : EIO, -1);
    return __real_open(path, flags, mode);
}

ssize_t __wrap_read(int fd, void *b, size_t n)
{
    FAIL_IO(EIO, -1);
    return __real_read(fd, b, n);
}

ssize_t __wrap_pread(int fd, void *b, size_t n, off_t off)
{
    FAIL_IO(EIO, -1);
    return __real_pread(fd, b, n, off);
}

ssize_t __wrap_write(int fd, const void *b, size_t n)
{
    FAIL_IO(ENOSPC, -1);
    return __real_write(fd, b, n);
}

/* Syncs are counted and failed but not done: thousands of runs would wait for the disk, and
 * durability across power loss is not what this test is about (test_crdt_store_crash and
 * test_git_crash kill processes instead). */
int __wrap_fsync(int fd)
{
    FAIL_IO(EIO, -1);
    return fcntl(fd, F_GETFD) < 0 ? -1 : 0;
}

/* close and fclose release the descriptor even when they report an error (as on Linux). */
int __wrap_close(int fd)
{
    int r = __real_close(fd);
    FAIL_IO(EIO, -1);
    return r;
}

int __wrap_rename(const char *a, const char *b)
{
    FAIL_IO(EIO, -1);
    return __real_rename(a, b);
}

int __wrap_unlink(const char *p)
{
    FAIL_IO(EIO, -1);
    return __real_unlink(p);
}

int __wrap_mkdir(const char *p, mode_t m)
{
    FAIL_IO(ENOSPC, -1);
    return __real_mkdir(p, m);
}

int __wrap_rmdir(const char *p)
{
    FAIL_IO(EIO, -1);
    return __real_rmdir(p);
}

int __wrap_mkstemp(char *tmpl)
{
    FAIL_IO(ENOSPC, -1);
    return __real_mkstemp(tmpl);
}

int __wrap_chmod(const char *p, mode_t m)
{
    FAIL_IO(EIO, -1);
    return __real_chmod(p, m);
}

int __wrap_flock(int fd, int op)
{
    FAIL_IO(ENOLCK, -1);
    return __real_flock(fd, op);
}

FILE *__wrap_fopen(const char *p, const char *mode)
{
    FAIL_IO(mode[0] == 'r' ? EIO : ENOSPC, NULL);
    return __real_fopen(p, mode);
}

FILE *__wrap_fdopen(int fd, const char *mode)
{
    FAIL_IO(ENOMEM, NULL);
    return __real_fdopen(fd, mode);
}

size_t __wrap_fread(void *b, size_t s, size_t n, FILE *f)
{
    FAIL_IO(EIO, 0);
    return __real_fread(b, s, n, f);
}

size_t __wrap_fwrite(const void *b, size_t s, size_t n, FILE *f)
{
    FAIL_IO(ENOSPC, 0);
    return __real_fwrite(b, s, n, f);
}

int __wrap_fputs(const char *s, FILE *f)
{
    FAIL_IO(ENOSPC, EOF);
    return __real_fputs(s, f);
}

int __wrap_fflush(FILE *f)
{
    FAIL_IO(ENOSPC, EOF);
    return __real_fflush(f);
}

int __wrap_fclose(FILE *f)
{
    int r = __real_fclose(f);
    FAIL_IO(ENOSPC, EOF);
    return r;
}

/* ---- SQLite: its allocator and a VFS shim ------------------------------------------------ */

/* Each block carries its size in front (xSize); 16 bytes keep the alignment of malloc. */
static void *sq_malloc(int n)
{
    if (fault_hit(&f_alloc))
        return NULL;
    size_t *p = __real_malloc((size_t)n + 16);
    if (!p)
        return NULL;
    p[0] = (size_t)n;
    return (char *)p + 16;
}

static void sq_free(void *p)
{
    if (p)
        free((char *)p - 16);
}

static void *sq_realloc(void *p, int n)
{
    if (fault_hit(&f_alloc))
        return NULL;
    size_t *q = __real_realloc((char *)p - 16, (size_t)n + 16);
    if (!q)
        return NULL;
    q[0] = (size_t)n;
    return (char *)q + 16;
}

static int sq_size(void *p)
{
    return p ? (int)*(size_t *)((char *)p - 16) : 0;
}

static int sq_roundup(int n)
{
    return (n + 7) & ~7;
}

static int sq_init(void *unused)
{
    (void)unused;
    return SQLITE_OK;
}

static void sq_shutdown(void *unused)
{
    (void)unused;
}

typedef struct fault_file {
    sqlite3_file base;
    sqlite3_file *real; /* the base VFS's file, allocated right after this struct */
} fault_file;

static sqlite3_vfs *base_vfs;
static sqlite3_vfs fault_vfs;
static sqlite3_io_methods fault_methods;

#define REAL(f) (((fault_file *)(f))->real)

static int ff_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int ff_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
    if (fault_hit(&f_io))
        return SQLITE_IOERR_READ;
    return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}

static int ff_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
    if (fault_hit(&f_io))
        return SQLITE_FULL;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}

static int ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (fault_hit(&f_io))
        return SQLITE_IOERR_TRUNCATE;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int ff_sync(sqlite3_file *f, int flags)
{
    (void)f;
    (void)flags;
    return fault_hit(&f_io) ? SQLITE_IOERR_FSYNC : SQLITE_OK; /* not done: see __wrap_fsync */
}

static int ff_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int ff_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int ff_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int ff_check_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int ff_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int ff_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int ff_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int ff_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **p)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, p);
}

static int ff_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void ff_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int ff_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int fv_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)v;
    fault_file *ff = (fault_file *)f;
    ff->base.pMethods = NULL;
    ff->real = (sqlite3_file *)(ff + 1);
    if (fault_hit(&f_io))
        return SQLITE_CANTOPEN;
    int rc = base_vfs->xOpen(base_vfs, name, ff->real, flags, out);
    if (ff->real->pMethods)
        ff->base.pMethods = &fault_methods;
    return rc;
}

static int fv_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    return base_vfs->xDelete(base_vfs, name, sync);
}

static int fv_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return base_vfs->xAccess(base_vfs, name, flags, out);
}

static int fv_full(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return base_vfs->xFullPathname(base_vfs, name, n, out);
}

static int fv_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base_vfs->xRandomness(base_vfs, n, out);
}

static int fv_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return base_vfs->xSleep(base_vfs, us);
}

static int fv_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return base_vfs->xCurrentTime(base_vfs, out);
}

static int fv_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return base_vfs->xGetLastError(base_vfs, n, out);
}

static int fv_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

/* Before anything opens a database: SQLite allocates through f_alloc and does its file I/O
 * through f_io. */
static void install_sqlite_faults(void)
{
    static sqlite3_mem_methods mem = {sq_malloc,  sq_free, sq_realloc,  sq_size,
                                      sq_roundup, sq_init, sq_shutdown, NULL};
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &mem) != SQLITE_OK) {
        printf("sqlite3_config(SQLITE_CONFIG_MALLOC) refused: SQLite was initialized first\n");
        exit(1);
    }
    if (sqlite3_initialize() != SQLITE_OK || !(base_vfs = sqlite3_vfs_find(NULL))) {
        printf("cannot initialize SQLite\n");
        exit(1);
    }
    fault_methods = (sqlite3_io_methods){
        2,         ff_close,   ff_read,     ff_write,       ff_truncate, ff_sync,
        ff_size,   ff_lock,    ff_unlock,   ff_check_lock,  ff_control,  ff_sector,
        ff_device, ff_shm_map, ff_shm_lock, ff_shm_barrier, ff_shm_unmap};
    fault_vfs = (sqlite3_vfs){2,
                              (int)sizeof(fault_file) + base_vfs->szOsFile,
                              base_vfs->mxPathname,
                              NULL,
                              "faults",
                              NULL,
                              fv_open,
                              fv_delete,
                              fv_access,
                              fv_full,
                              NULL,
                              NULL,
                              NULL,
                              NULL,
                              fv_random,
                              fv_sleep,
                              fv_time,
                              fv_last_error,
                              fv_time64};
    sqlite3_vfs_register(&fault_vfs, 1);
}

/* ---- workspace fixtures ------------------------------------------------------------------ */

static char tmpl[64], dir[80]; /* the prepared state, and the copy each run works on */

static void put_in(const char *root, const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CHECK_EQ_INT(dx_file_write_atomic(p, text, strlen(text), 0644, NULL), 0);
}

static char *get(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    dx_buf b = DX_BUF_INIT;
    if (dx_file_read(p, &b, NULL) != 0) {
        dx_buf_release(&b);
        return NULL;
    }
    return dx_buf_detach(&b, NULL);
}

static bool exists(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return dx_path_exists(p);
}

/* Three entries under an index; what every scenario starts from. */
static void write_files(const char *root)
{
    put_in(
        root, "README.md",
        "---\ntitle: Home\ncontents:\n- \"[A](/a.md)\"\n- \"[B](/b.md)\"\n- \"[C](/c.md)\"\n---\n");
    put_in(root, "a.md", "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha\n");
    put_in(root, "b.md", "---\ntitle: B\npart_of: \"[Home](/README.md)\"\n---\nbeta\n");
    put_in(root, "c.md", "---\ntitle: C\npart_of: \"[Home](/README.md)\"\n---\ngamma\n");
}

static void new_template(void)
{
    snprintf(tmpl, sizeof tmpl, "/tmp/dx-faults-XXXXXX");
    CHECK(mkdtemp(tmpl) != NULL);
    snprintf(dir, sizeof dir, "%s.run", tmpl);
}

/* rm -rf and cp -a without a process per run (thousands of runs). */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        if (d)
            closedir(d);
        CHECK_EQ_INT(rmdir(path), 0);
    } else {
        CHECK_EQ_INT(unlink(path), 0);
    }
}

/* Modes and modification times are kept, so the store's file records still match. */
static void copy_tree(const char *from, const char *to)
{
    struct stat st;
    CHECK_EQ_INT(lstat(from, &st), 0);
    if (S_ISDIR(st.st_mode)) {
        CHECK_EQ_INT(mkdir(to, 0700), 0);
        DIR *d = opendir(from);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char a[512], b[512];
            snprintf(a, sizeof a, "%s/%s", from, e->d_name);
            snprintf(b, sizeof b, "%s/%s", to, e->d_name);
            copy_tree(a, b);
        }
        if (d)
            closedir(d);
        CHECK_EQ_INT(chmod(to, st.st_mode & 07777), 0);
        return;
    }
    CHECK(S_ISREG(st.st_mode));
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        CHECK_EQ_INT(write(out, buf, (size_t)n), n);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    CHECK_EQ_INT(futimens(out, times), 0);
    CHECK_EQ_INT(fchmod(out, st.st_mode & 07777), 0);
    close(in);
    close(out);
}

/* The run directory becomes a copy of the template. */
static void fresh_copy(void)
{
    remove_tree(dir);
    copy_tree(tmpl, dir);
}

static void remove_dirs(void)
{
    remove_tree(dir);
    remove_tree(tmpl);
}

typedef struct env {
    dx_workspace *ws;
    dx_session *s;
    dx_git *g;
} env;

static int env_open(env *e, const char *root, bool git, dx_session_stats *st, dx_error *err)
{
    memset(e, 0, sizeof *e);
    int rc = dx_workspace_open(root, &e->ws, err);
    if (!rc)
        rc = dx_session_open(e->ws, "test", &e->s, st, err);
    if (!rc && git)
        rc = dx_history_open(e->s, &e->g, err);
    return rc;
}

static void env_close(env *e)
{
    dx_git_free(e->g);
    dx_session_close(e->s);
    dx_workspace_free(e->ws);
    memset(e, 0, sizeof *e);
}

/* The body text the store holds for the entry at path, or NULL when there is no entry. */
static char *stored_body(dx_session *s, const char *path)
{
    char id[DX_UUID_LEN + 1];
    dx_error err = DX_ERROR_INIT;
    y_doc *d = NULL;
    if (dx_session_find(s, path, id, &err) != 0 || dx_session_body(s, id, &d, &err) != 0)
        return NULL;
    dx_buf b = DX_BUF_INIT;
    if (dx_body_get(d, &b, &err) != 0) {
        dx_buf_release(&b);
        return NULL;
    }
    return dx_buf_detach(&b, NULL);
}

/* Each live entry's file on disk is its rendering from the CRDT, and there are as many
 * entry files as live entries. */
static void check_files_match_crdt(dx_session *s, const char *const *paths, size_t n,
                                   const char *label)
{
    dx_error err = DX_ERROR_INIT;
    for (size_t i = 0; i < n; i++) {
        char id[DX_UUID_LEN + 1];
        if (dx_session_find(s, paths[i], id, &err) != 0) {
            TEST_FAILF("%s: no entry at %s", label, paths[i]);
            continue;
        }
        dx_buf path = DX_BUF_INIT, bytes = DX_BUF_INIT;
        CHECK_EQ_INT(dx_session_render(s, id, &path, &bytes, &err), 0);
        char *disk = get(paths[i]);
        if (!disk || strcmp(disk, dx_buf_cstr(&bytes)) != 0)
            TEST_FAILF("%s: %s on disk is not its CRDT rendering:\n%s\n--- vs ---\n%s", label,
                       paths[i], disk ? disk : "(missing)", dx_buf_cstr(&bytes));
        free(disk);
        dx_buf_release(&path);
        dx_buf_release(&bytes);
    }
    if (dx_session_live_entries(s) != n || dx_session_entry_files(s) != n)
        TEST_FAILF("%s: %zu live entries, %zu entry files, expected %zu", label,
                   dx_session_live_entries(s), dx_session_entry_files(s), n);
}

/* A fresh session opens cleanly on dir; opening it a second time finds nothing to do (disk
 * and CRDT agree). Returns the open environment of the first open, for more checks. */
static bool reopen(env *e, bool git, const char *label)
{
    dx_error err = DX_ERROR_INIT;
    if (env_open(e, dir, git, NULL, &err) != 0) {
        TEST_FAILF("%s: the workspace does not open after the failure: %s", label, err.msg);
        env_close(e);
        return false;
    }
    env again;
    dx_session_stats st;
    if (env_open(&again, dir, false, &st, &err) != 0)
        TEST_FAILF("%s: second open: %s", label, err.msg);
    else if (st.imported + st.ingested + st.removed + st.written + st.updates != 0)
        TEST_FAILF("%s: the second open still changed things (%zu imported, %zu ingested, %zu "
                   "removed, %zu written, %zu updates)",
                   label, st.imported, st.ingested, st.removed, st.written, st.updates);
    env_close(&again);
    return true;
}

static void check_body(dx_session *s, const char *path, const char *want, const char *label)
{
    char *got = stored_body(s, path);
    if (!got || strcmp(got, want) != 0)
        TEST_FAILF("%s: body of %s is \"%s\", expected \"%s\"", label, path, got ? got : "(none)",
                   want);
    free(got);
}

/* ---- (a) the store: appends in a batch, compaction ----------------------------------------- */

#define STORE_STEPS 6
static const char *const store_texts[STORE_STEPS] = {
    "one", "one two", "one two three", "one two three four", "b1", "b1 b2"};
static uint8_t *store_up[STORE_STEPS];
static size_t store_len[STORE_STEPS];

/* The updates of two body documents: "a" goes through texts 0-3, "b" through 4-5. */
static void make_store_updates(void)
{
    y_doc *d = NULL;
    dx_error err = DX_ERROR_INIT;
    for (int i = 0; i < STORE_STEPS; i++) {
        if (i == 0 || i == 4) {
            y_doc_free(d);
            d = NULL;
            CHECK_EQ_INT(y_doc_new(&d, NULL), 0);
        }
        uint8_t *sv = NULL;
        size_t svl = 0;
        CHECK_EQ_INT(y_encode_state_vector(d, &sv, &svl), 0);
        CHECK_EQ_INT(dx_body_set(d, store_texts[i], strlen(store_texts[i]), &err), 0);
        CHECK_EQ_INT(y_encode_state_as_update(d, sv, svl, &store_up[i], &store_len[i]), 0);
        y_free(sv);
    }
    y_doc_free(d);
}

static void free_store_updates(void)
{
    for (int i = 0; i < STORE_STEPS; i++)
        y_free(store_up[i]);
}

static int append(dx_crdt_store *st, const char *doc, int i, dx_error *err)
{
    return dx_store_append(st, doc, store_up[i], store_len[i], "local", "test", NULL, err);
}

static void store_path(const char *root, char *out, size_t n)
{
    snprintf(out, n, "%s/crdt.db", root);
}

/* What is stored: "a" holds texts 0-2; a batch run appends 3 to "a" and 4-5 to "b". */
static void prepare_store_batch(void)
{
    char p[128];
    store_path(tmpl, p, sizeof p);
    dx_crdt_store *st = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(p, &st, &err), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(append(st, "a", i, &err), 0);
    dx_store_close(st);
}

static int run_store_batch(dx_error *err)
{
    char p[128];
    store_path(dir, p, sizeof p);
    dx_crdt_store *st = NULL;
    arm();
    int rc = dx_store_open(p, &st, err);
    if (!rc)
        rc = dx_store_begin(st, err);
    if (!rc)
        rc = append(st, "b", 4, err);
    if (!rc)
        rc = append(st, "a", 3, err);
    if (!rc)
        rc = append(st, "b", 5, err);
    if (!rc)
        rc = dx_store_commit(st, err);
    if (rc && st)
        dx_store_rollback(st);
    dx_store_close(st);
    disarm();
    return rc;
}

/* The text of doc in the store at dir, or NULL when the store does not have it. */
static char *stored_text(dx_crdt_store *st, const char *doc)
{
    y_doc *d = NULL;
    dx_error err = DX_ERROR_INIT;
    char *text = NULL;
    CHECK_EQ_INT(y_doc_new(&d, NULL), 0);
    int rc = dx_store_load(st, doc, d, &err);
    if (rc == 0) {
        dx_buf b = DX_BUF_INIT;
        CHECK_EQ_INT(dx_body_get(d, &b, &err), 0);
        text = dx_buf_detach(&b, NULL);
    } else if (rc != DX_ENOTFOUND) {
        TEST_FAILF("cannot load %s: %s", doc, err.msg);
    }
    y_doc_free(d);
    return text;
}

static dx_crdt_store *open_store_checked(const char *label)
{
    char p[128];
    store_path(dir, p, sizeof p);
    dx_crdt_store *st = NULL;
    dx_error err = DX_ERROR_INIT;
    if (dx_store_open(p, &st, &err) != 0) {
        TEST_FAILF("%s: the store does not open after the failure: %s", label, err.msg);
        return NULL;
    }
    if (dx_store_check(st, &err) != 0)
        TEST_FAILF("%s: the store is damaged: %s", label, err.msg);
    return st;
}

static void verify_store_batch(int rc, const char *label)
{
    dx_crdt_store *st = open_store_checked(label);
    if (!st)
        return;
    char *a = stored_text(st, "a"), *b = stored_text(st, "b");
    bool old = a && !strcmp(a, store_texts[2]) && !b;
    bool now = a && !strcmp(a, store_texts[3]) && b && !strcmp(b, store_texts[5]);
    if (!(now || (old && rc != 0)))
        TEST_FAILF("%s (rc %d): the batch is neither wholly stored nor wholly absent: a=\"%s\" "
                   "b=\"%s\"",
                   label, rc, a ? a : "(none)", b ? b : "(none)");
    free(a);
    free(b);
    dx_store_close(st);
}

/* "a" holds texts 0-3 as four updates; compaction keeps the newest one. */
static void prepare_store_compact(void)
{
    char p[128];
    store_path(tmpl, p, sizeof p);
    dx_crdt_store *st = NULL;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_open(p, &st, &err), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(append(st, "a", i, &err), 0);
    dx_store_close(st);
}

static int run_store_compact(dx_error *err)
{
    char p[128];
    store_path(dir, p, sizeof p);
    dx_crdt_store *st = NULL;
    arm();
    int rc = dx_store_open(p, &st, err);
    if (!rc)
        rc = dx_store_compact(st, "a", 1, err);
    dx_store_close(st);
    disarm();
    return rc;
}

static void verify_store_compact(int rc, const char *label)
{
    dx_crdt_store *st = open_store_checked(label);
    if (!st)
        return;
    char *a = stored_text(st, "a");
    if (!a || strcmp(a, store_texts[3]) != 0)
        TEST_FAILF("%s: compaction changed the document: \"%s\"", label, a ? a : "(none)");
    free(a);
    dx_store_update_info *h = NULL;
    size_t n = 0;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(dx_store_history(st, "a", 10, &h, &n, &err), 0);
    if (!(n == 1 || (n == 4 && rc != 0)))
        TEST_FAILF("%s (rc %d): %zu updates left, expected 1 (or 4 when it failed)", label, rc, n);
    dx_store_history_free(h, n);
    dx_store_close(st);
}

/* ---- (b) a session open: import; an edit made outside diaryx ------------------------------ */

static const char *const base_paths[] = {"README.md", "a.md", "b.md", "c.md"};

static void prepare_import(void)
{
    write_files(tmpl);
}

static int run_open(dx_error *err)
{
    env e;
    arm();
    int rc = env_open(&e, dir, false, NULL, err);
    disarm();
    env_close(&e);
    return rc;
}

/* No store file is left renamed aside (a failure taken for a damaged store). */
static void check_no_broken_store(const char *label)
{
    char p[128];
    snprintf(p, sizeof p, "%s/.diaryx", dir);
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, "broken"))
            TEST_FAILF("%s: the store was set aside as damaged: %s", label, e->d_name);
    if (d)
        closedir(d);
}

static void verify_import(int rc, const char *label)
{
    (void)rc;
    check_no_broken_store(label);
    env e;
    if (!reopen(&e, false, label))
        return;
    check_body(e.s, "a.md", "alpha\n", label);
    check_body(e.s, "b.md", "beta\n", label);
    check_body(e.s, "c.md", "gamma\n", label);
    check_files_match_crdt(e.s, base_paths, 4, label);
    env_close(&e);
}

static void prepare_external(void)
{
    write_files(tmpl);
    env e;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(env_open(&e, tmpl, false, NULL, &err), 0);
    env_close(&e);
    put_in(tmpl, "a.md", "---\ntitle: A\npart_of: \"[Home](/README.md)\"\n---\nalpha, edited\n");
    put_in(tmpl, "d.md", "---\ntitle: D\n---\ndelta\n");
}

static void verify_external(int rc, const char *label)
{
    (void)rc;
    static const char *const paths[] = {"README.md", "a.md", "b.md", "c.md", "d.md"};
    check_no_broken_store(label);
    env e;
    if (!reopen(&e, false, label))
        return;
    check_body(e.s, "a.md", "alpha, edited\n", label); /* the user's edit is never lost */
    check_body(e.s, "b.md", "beta\n", label);
    check_body(e.s, "d.md", "delta\n", label);
    check_files_match_crdt(e.s, paths, 5, label);
    env_close(&e);
}

/* ---- (c) staged edits saved --------------------------------------------------------------- */

static void prepare_imported(void)
{
    write_files(tmpl);
    env e;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(env_open(&e, tmpl, false, NULL, &err), 0);
    env_close(&e);
}

/* One command's edits: a.md's body and a property, a new entry (and its index), c.md
 * deleted. */
static void stage_edits(dx_workspace *ws, const char *body)
{
    dx_error err = DX_ERROR_INIT;
    dx_fm *fm = NULL;
    CHECK_EQ_INT(dx_workspace_read(ws, "a.md", &fm, &err), 0);
    if (!fm)
        return;
    dx_fm_set_body(fm, body, strlen(body));
    CHECK_EQ_INT(dx_fm_set(fm, "mood", "good"), 0);
    CHECK_EQ_INT(dx_workspace_write(ws, "a.md", fm, &err), 0);
    dx_fm_free(fm);
    CHECK_EQ_INT(dx_workspace_create(ws, "notes/new.md", "New", false, &err), 0);
    CHECK_EQ_INT(dx_workspace_delete(ws, "c.md", &err), 0);
}

static int run_save(dx_error *err)
{
    env e;
    int rc = env_open(&e, dir, false, NULL, err);
    CHECK_EQ_INT(rc, 0);
    if (!rc) {
        stage_edits(e.ws, "alpha, saved\n");
        arm();
        rc = dx_session_save(e.s, NULL, err);
        disarm();
    }
    env_close(&e);
    return rc;
}

static void verify_save(int rc, const char *label)
{
    static const char *const before[] = {"README.md", "a.md", "b.md", "c.md"};
    static const char *const after[] = {"README.md", "a.md", "b.md", "notes/notes.md",
                                        "notes/new.md"};
    check_no_broken_store(label);
    env e;
    if (!reopen(&e, false, label))
        return;
    char id[DX_UUID_LEN + 1];
    dx_error err = DX_ERROR_INIT;
    char *a = stored_body(e.s, "a.md"), *afile = get("a.md");
    bool body = a && !strcmp(a, "alpha, saved\n");
    bool mood = afile && strstr(afile, "mood: good\n");
    bool created = dx_session_find(e.s, "notes/new.md", id, &err) == 0;
    bool deleted = dx_session_find(e.s, "c.md", id, &err) != 0 && !exists("c.md");
    bool all = body && mood && created && deleted;
    bool none = !body && !mood && !created && !deleted && a && !strcmp(a, "alpha\n");
    if (!(all || (none && rc != 0)))
        TEST_FAILF("%s (rc %d): the save is neither wholly there nor wholly absent: body %d, "
                   "property %d, created %d, deleted %d",
                   label, rc, body, mood, created, deleted);
    check_body(e.s, "b.md", "beta\n", label);
    if (all)
        check_files_match_crdt(e.s, after, 5, label);
    else if (none)
        check_files_match_crdt(e.s, before, 4, label);
    free(a);
    free(afile);
    env_close(&e);
}

/* ---- (d) a commit into git: the first (full), then an incremental one --------------------- */

static char prev_head[DX_GIT_OID_HEX];

static void prepare_repo(void)
{
    write_files(tmpl);
    env e;
    dx_error err = DX_ERROR_INIT;
    CHECK_EQ_INT(env_open(&e, tmpl, true, NULL, &err), 0);
    env_close(&e);
    prev_head[0] = 0;
}

/* The same, committed once; then a saved edit waits for the next commit. */
static void prepare_committed(void)
{
    write_files(tmpl);
    env e;
    dx_error err = DX_ERROR_INIT;
    dx_commit_result r;
    CHECK_EQ_INT(env_open(&e, tmpl, true, NULL, &err), 0);
    CHECK_EQ_INT(commit_session(e.s, e.g, &r, &err), 0);
    CHECK(r.committed);
    memcpy(prev_head, r.id, sizeof prev_head);
    dx_commit_result_release(&r);
    stage_edits(e.ws, "alpha, committed\n");
    CHECK_EQ_INT(dx_session_save(e.s, NULL, &err), 0);
    env_close(&e);
}

static int run_commit(dx_error *err)
{
    env e;
    dx_commit_result r;
    memset(&r, 0, sizeof r);
    int rc = env_open(&e, dir, true, NULL, err);
    CHECK_EQ_INT(rc, 0);
    if (!rc) {
        arm();
        rc = commit_session(e.s, e.g, &r, err);
        disarm();
        if (rc == 0 && !r.committed)
            TEST_FAILF("a commit with changes to commit made none");
        dx_commit_result_release(&r);
    }
    env_close(&e);
    return rc;
}

/* Every object reachable from HEAD reads back (libgit2 checks each object's hash as it
 * reads it): an in-process fsck of what matters, cheap enough for every run. */
static int read_tree_entry(const char *root, const git_tree_entry *te, void *repo)
{
    (void)root;
    git_object *o = NULL;
    int rc = git_tree_entry_to_object(&o, repo, te);
    git_object_free(o);
    return rc < 0 ? rc : 0;
}

/* The history is the previous commit (if any) plus at most one; every object reads back;
 * the index and the work tree match HEAD; HEAD's files are the files on disk. */
static void check_git(const char *const *paths, size_t n, size_t commits_expected,
                      const char *label)
{
    git_repository *repo = NULL;
    git_revwalk *walk = NULL;
    git_status_list *status = NULL;
    git_oid oid;
    size_t commits = 0;
    bool has_prev = !prev_head[0];
    if (git_repository_open(&repo, dir) < 0 || git_revwalk_new(&walk, repo) < 0 ||
        git_revwalk_push_head(walk) < 0) {
        TEST_FAILF("%s: cannot read the history: %s", label, git_error_last()->message);
        goto done;
    }
    while (git_revwalk_next(&oid, walk) == 0) {
        git_commit *c = NULL;
        git_tree *t = NULL;
        commits++;
        has_prev |= !strcmp(git_oid_tostr_s(&oid), prev_head);
        if (git_commit_lookup(&c, repo, &oid) < 0 || git_commit_tree(&t, c) < 0 ||
            git_tree_walk(t, GIT_TREEWALK_PRE, read_tree_entry, repo) < 0)
            TEST_FAILF("%s: commit %s does not read back: %s", label, git_oid_tostr_s(&oid),
                       git_error_last()->message);
        git_tree_free(t);
        git_commit_free(c);
    }
    if (commits != commits_expected || !has_prev)
        TEST_FAILF("%s: %zu commits, expected %zu ending in the previous one", label, commits,
                   commits_expected);
    git_status_options so = GIT_STATUS_OPTIONS_INIT;
    so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED;
    if (git_status_list_new(&status, repo, &so) < 0)
        TEST_FAILF("%s: git status: %s", label, git_error_last()->message);
    else if (git_status_list_entrycount(status))
        TEST_FAILF("%s: git status is not clean (%s, ...)", label,
                   git_status_byindex(status, 0)->index_to_workdir
                       ? git_status_byindex(status, 0)->index_to_workdir->old_file.path
                       : git_status_byindex(status, 0)->head_to_index->old_file.path);
    for (size_t i = 0; i < n; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "HEAD:%s", paths[i]);
        git_object *o = NULL;
        char *disk = get(paths[i]);
        if (git_revparse_single(&o, repo, spec) < 0 || git_object_type(o) != GIT_OBJECT_BLOB ||
            !disk || git_blob_rawsize((git_blob *)o) != (git_object_size_t)strlen(disk) ||
            memcmp(git_blob_rawcontent((git_blob *)o), disk, strlen(disk)) != 0)
            TEST_FAILF("%s: HEAD:%s is not the file on disk", label, paths[i]);
        git_object_free(o);
        free(disk);
    }
done:
    git_status_list_free(status);
    git_revwalk_free(walk);
    git_repository_free(repo);
}

/* git fsck --strict (a process, slow on a loaded machine) checks the first run and every
 * 40th after it; DX_FAULTS_FSCK_EVERY=1 checks every run. */
static long git_fsck_every = 40;
static long verify_count;

static void verify_commit(int rc, const char *label)
{
    (void)rc;
    bool incremental = prev_head[0] != 0;
    static const char *const first[] = {"README.md", "a.md", "b.md", "c.md"};
    static const char *const second[] = {"README.md", "a.md", "b.md", "notes/notes.md",
                                         "notes/new.md"};
    const char *const *paths = incremental ? second : first;
    size_t n = incremental ? 5 : 4;
    check_no_broken_store(label);
    env e;
    if (!reopen(&e, true, label))
        return;
    /* Nothing stored was lost, and the next commit, without faults, commits it all. */
    check_body(e.s, "a.md", incremental ? "alpha, committed\n" : "alpha\n", label);
    check_files_match_crdt(e.s, paths, n, label);
    dx_commit_result r;
    dx_error err = DX_ERROR_INIT;
    if (commit_session(e.s, e.g, &r, &err) != 0)
        TEST_FAILF("%s: the next commit fails: %s", label, err.msg);
    dx_commit_result_release(&r);
    env_close(&e);
    check_git(paths, n, incremental ? 2 : 1, label);
    if (verify_count++ % git_fsck_every == 0) {
        dx_buf out = DX_BUF_INIT;
        if (sh(&out, "git -C '%s' fsck --strict 2>&1", dir) != 0)
            TEST_FAILF("%s: git fsck: %s", label, out.data);
        dx_buf_release(&out);
    }
}

/* ---- the sweep ---------------------------------------------------------------------------- */

typedef struct scenario {
    const char *name;
    void (*prepare)(void);                     /* builds the template (injection off) */
    int (*run)(dx_error *err);                 /* works on the copy; arms around the operation */
    void (*verify)(int rc, const char *label); /* injection off, on the copy */
} scenario;

/* An injected failure must come back as an error that says what it is: not as "the data is
 * damaged" (DX_ECORRUPT sets a store aside), "malformed" (DX_EPARSE leaves a file out) or
 * "the checks failed" (DX_EVALIDATE counts towards a rebuild from git). */
static bool clean_error(int rc, const dx_error *err)
{
    return rc >= DX_EVALIDATE && rc < 0 && rc != DX_EVALIDATE && rc != DX_ECORRUPT &&
           rc != DX_EPARSE && err->code == rc && err->msg[0];
}

static void reset_counters(void)
{
    f_alloc.calls = f_alloc.fail_at = f_alloc.failed = 0;
    f_io.calls = f_io.fail_at = f_io.failed = 0;
}

static void sweep(const scenario *sc, fault *f, bool persist)
{
    char label[160];
    dx_error err = DX_ERROR_INIT;
    fresh_copy();
    reset_counters();
    recording = true;
    int rc = sc->run(&err);
    recording = false;
    long k = f->calls;
    snprintf(label, sizeof label, "%s, no fault", sc->name);
    if (rc != 0)
        TEST_FAILF("%s: %s", label, err.msg);
    sc->verify(rc, label);
    /* Which calls to fail: every one with DX_FAULTS_ALL; otherwise the first call from each
     * call site (a distinct stack of three frames), so that every site fails once, and every
     * stride-th call besides (DX_FAULTS_EXTRA of them, 10 by default). */
    bool all = getenv("DX_FAULTS_ALL") && atoi(getenv("DX_FAULTS_ALL"));
    long extra = getenv("DX_FAULTS_EXTRA") ? atol(getenv("DX_FAULTS_EXTRA")) : 10;
    long stride = extra > 0 && k / extra > 0 ? k / extra : 1;
    bool *pick = calloc((size_t)k + 1, sizeof *pick);
    long picked = 0, sites = 0;
    for (long n = 1; pick && n <= k && n <= f->nsites; n++) {
        bool first = true;
        for (long m = 1; m < n && first; m++)
            first = f->sites[m - 1] != f->sites[n - 1];
        sites += first;
        pick[n] = trace_at ? n == trace_at : all || first || n % stride == 0;
        picked += pick[n];
    }
    free(f->sites);
    f->sites = NULL;
    f->nsites = 0;
    if (getenv("DX_FAULTS_COUNT")) { /* only count the calls */
        printf("  %-16s %5ld %ss from %ld sites: %ld runs\n", sc->name, k, f->what, sites, picked);
        free(pick);
        return;
    }
    long errors = 0, tolerated = 0, bad_runs = 0;
    for (long n = 1; pick && n <= k && bad_runs < 5; n++) {
        if (!pick[n])
            continue;
        fresh_copy();
        reset_counters();
        f->fail_at = n;
        f->persist = persist;
        err = (dx_error)DX_ERROR_INIT;
        int failed_before = test_case_failed_;
        test_case_failed_ = 0;
        rc = sc->run(&err);
        snprintf(label, sizeof label, "%s, %s %ld of %ld failing%s", sc->name, f->what, n, k,
                 persist ? " and every one after it" : "");
        if (rc == 0)
            tolerated++;
        else if (clean_error(rc, &err))
            errors++;
        else
            TEST_FAILF("%s: not a clean error: rc %d, code %d, message \"%s\"", label, rc, err.code,
                       err.msg);
        f->fail_at = 0;
        sc->verify(rc, label);
        if (getenv("DX_FAULTS_VERBOSE"))
            printf("  %s: rc %d %s\n", label, rc, err.msg);
        if (test_case_failed_)
            bad_runs++;
        test_case_failed_ |= failed_before;
    }
    free(pick);
    if (bad_runs >= 5)
        TEST_FAILF("%s: stopped after 5 failing runs", sc->name);
    printf("  %-16s %5ld %ss from %ld sites%s, %ld failed in turn: %ld clean errors, %ld "
           "tolerated\n",
           sc->name, k, f->what, sites, persist ? " (persisting)" : "", picked, errors, tolerated);
    fflush(stdout);
}

static void run_scenario(const scenario *sc)
{
    const char *only = getenv("DX_FAULTS_ONLY"); /* a part of the scenario names to run */
    if (only && !strstr(sc->name, only))
        return;
    new_template();
    sc->prepare();
    bool persist = getenv("DX_FAULTS_PERSIST") && atoi(getenv("DX_FAULTS_PERSIST"));
    sweep(sc, &f_alloc, false);
    sweep(sc, &f_io, false);
    if (persist) {
        sweep(sc, &f_alloc, true);
        sweep(sc, &f_io, true);
    }
    remove_dirs();
}

static const scenario store_batch = {"store batch", prepare_store_batch, run_store_batch,
                                     verify_store_batch};
static const scenario store_compact = {"store compact", prepare_store_compact, run_store_compact,
                                       verify_store_compact};
static const scenario open_import = {"open: import", prepare_import, run_open, verify_import};
static const scenario open_external = {"open: ingest", prepare_external, run_open, verify_external};
static const scenario save = {"save", prepare_imported, run_save, verify_save};
static const scenario commit_full = {"commit (full)", prepare_repo, run_commit, verify_commit};
static const scenario commit_incr = {"commit (incr.)", prepare_committed, run_commit,
                                     verify_commit};

TEST(test_store_failures_are_clean_and_atomic)
{
    make_store_updates();
    run_scenario(&store_batch);
    run_scenario(&store_compact);
    free_store_updates();
}

TEST(test_open_failures_lose_no_file_and_no_edit)
{
    run_scenario(&open_import);
    run_scenario(&open_external);
}

TEST(test_save_failures_store_all_or_nothing)
{
    run_scenario(&save);
}

TEST(test_commit_failures_leave_git_and_the_crdt_whole)
{
    run_scenario(&commit_full);
    run_scenario(&commit_incr);
}

/* The wrappers really are in the way: a failing allocation or write reaches our code. */
TEST(test_injection_reaches_our_code_and_sqlite)
{
    reset_counters();
    f_alloc.fail_at = 1;
    arm();
    dx_buf b = DX_BUF_INIT;
    int rc = dx_buf_puts(&b, "x");
    disarm();
    CHECK_EQ_INT(rc, DX_ENOMEM);
    CHECK_EQ_INT(f_alloc.failed, 1);
    dx_buf_release(&b);
    reset_counters();
    arm();
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
    disarm();
    CHECK(f_alloc.calls > 0); /* SQLite allocates through the counter */
    sqlite3_close(db);
    reset_counters();
    f_io.fail_at = 1;
    arm();
    rc = dx_file_write_atomic("/tmp/dx-faults-never-written", "x", 1, 0644, NULL);
    disarm();
    CHECK_EQ_INT(rc, DX_EIO);
    CHECK(!dx_path_exists("/tmp/dx-faults-never-written"));
    reset_counters();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    git_libgit2_init();
    trace_at = getenv("DX_FAULTS_TRACE") ? atol(getenv("DX_FAULTS_TRACE")) : 0;
    if (getenv("DX_FAULTS_FSCK_EVERY"))
        git_fsck_every =
            atol(getenv("DX_FAULTS_FSCK_EVERY")) > 0 ? atol(getenv("DX_FAULTS_FSCK_EVERY")) : 1;
    install_sqlite_faults();
    RUN(test_injection_reaches_our_code_and_sqlite);
    RUN(test_store_failures_are_clean_and_atomic);
    RUN(test_open_failures_lose_no_file_and_no_edit);
    RUN(test_save_failures_store_all_or_nothing);
    RUN(test_commit_failures_leave_git_and_the_crdt_whole);
    git_libgit2_shutdown();
    return TEST_REPORT();
}
