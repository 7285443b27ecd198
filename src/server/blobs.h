/* blobs.h - the server's attachment bytes: a blob store (local directory DATA/blobs or S3),
 * which workspace references which blob (DATA/blobs.db), per-user quotas by plan, and the
 * HTTP routes
 *
 *   PUT  /api/workspaces/{id}/blobs/{sha256}   the body's SHA-256 must be {sha256} (400
 *                                              otherwise); 201 {sha256, size} (200 when the
 *                                              workspace had it); 413 past the owner's quota
 *   HEAD /api/workspaces/{id}/blobs/{sha256}   200 with Content-Length, or 404
 *   GET  /api/workspaces/{id}/blobs/{sha256}   the bytes (application/octet-stream); a
 *                                              `Range: bytes=a-b` (or a-, -n) gives 206 with
 *                                              Content-Range, an unsatisfiable one 416
 *   DELETE /api/workspaces/{id}/blobs/{sha256} 204: the workspace's reference goes (its quota
 *                                              is freed), the bytes with the last reference
 *   POST /api/workspaces/{id}/blobs/missing {hashes:[...]}   {missing:[...]}: the ones this
 *                                              workspace has no bytes for (at most 10,000)
 *
 * A workspace sees only the blobs uploaded to it (another workspace's bytes, even the same
 * ones, are missing to it until it uploads them: no one learns what others store); the bytes
 * are kept once. Before a PUT's body is received, the same route answers a preflight
 * (api.h): the token, the owner, the name and the quota are checked on the announced length,
 * so nothing is written to disk for a request that would be refused. A quota counts the sizes of
 * the blobs of all the user's workspaces (a blob in two workspaces counts twice). Large upload
 * bodies reach the handler as a file, never whole in memory; a GET answer is a file too. Blobs are
 * removed only by DELETE (or stop counting when their workspace is deleted, whose references stay
 * in blobs.db): there is no collection of blobs the documents no longer record. */
#ifndef DX_SERVER_BLOBS_H
#define DX_SERVER_BLOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "diaryx/blobstore.h"
#include "diaryx/toml.h"

typedef struct srv_blobs srv_blobs;

typedef struct srv_blobs_config {
    bool s3;            /* backend = "s3" (else "local": DATA/blobs) */
    dx_s3_config s3cfg; /* endpoint, region, bucket, path_style, access_key, secret_key, prefix */
    int64_t quota_free; /* bytes a free-plan user may store (quota_free_mb) */
    int64_t quota_sync; /* the same on the sync plan (quota_sync_mb) */
    int64_t max_upload; /* the largest body of a PUT (max_upload_mb) */
} srv_blobs_config;

#define SRV_BLOBS_CONFIG_INIT                                                                      \
    {                                                                                              \
        false, DX_S3_CONFIG_INIT, 100LL << 20, 10LL << 30, 1LL << 30                               \
    }

/* One [blobs] key of the config file into c: 0, 1 (not a [blobs] entry: not ours), or
 * DX_EINVAL with the message naming the key and what it wants. */
int srv_blobs_config_key(srv_blobs_config *c, const dx_toml_entry *e, dx_error *err);

/* The blob service of data directory data with c (c's strings must outlive it). */
int srv_blobs_open(const char *data, const srv_blobs_config *c, srv_blobs **out, dx_error *err);
void srv_blobs_free(srv_blobs *b);

/* Whether a request's body goes to a file (a PUT of a blob) and the largest one accepted. */
bool srv_blobs_streams(const char *method, const char *path);
int64_t srv_blobs_max_upload(const srv_blobs *b);

/* Answer a request for /api/workspaces/{wid}/blobs{rest} of user, who owns wid. */
void srv_blobs_handle(const srv_api *api, const srv_request *req, const char *wid, int64_t user,
                      const char *rest, srv_response *out);

/* The usage of user in bytes (the sizes of the blobs of all their workspaces). */
int srv_blobs_usage(srv_blobs *b, struct srv_accounts *acc, int64_t user, int64_t *bytes,
                    dx_error *err);

#endif
