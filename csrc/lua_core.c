/* The Lua binding's module, b2c.core: its functions (credential
 * encryption, UUIDs, clocks, strict JSON checks, token keys, certificate
 * facts), each only marshalling for the pure-C parts, and luaopen_b2c_core.
 * The client userdata is lua_client.c's. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "compat.h"
#include "crypto.h"
#include "http.h"
#include "json_scan.h"
#include "lua_client.h"
#include "version.h"

/* core.encrypt_credential(password, certificate) -> base64 | nil, rule, field */
static int core_encrypt_credential(lua_State *L)
{
    size_t pass_len, cert_len;
    const char *pass = luaL_checklstring(L, 1, &pass_len);
    const char *cert = luaL_checklstring(L, 2, &cert_len);
    char msg[B2C_MSG_SIZE];
    b2c_bad_input bad;
    char *b64 =
        b2c_credential_encrypt(pass, pass_len, (const unsigned char *)cert, cert_len, msg, &bad);
    if (b64 == NULL)
        return b2c_lua_fail_config(L, b2c_lua_bad_input_field(bad), msg);
    lua_pushstring(L, b64);
    b2c_secret_free(b64);
    return 1;
}

/* core.decrypt_credential(base64, privateKeyPem) -> plaintext | nil, message
 * For simulators and tests: the inverse of encrypt_credential. */
static int core_decrypt_credential(lua_State *L)
{
    size_t b64_len, key_len, out_len = 0;
    const char *b64 = luaL_checklstring(L, 1, &b64_len);
    const char *key = luaL_checklstring(L, 2, &key_len);
    char msg[B2C_MSG_SIZE];
    char *plain = b2c_credential_decrypt(b64, b64_len, key, key_len, &out_len, msg);
    if (plain == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, msg);
        return 2;
    }
    lua_pushlstring(L, plain, out_len);
    OPENSSL_cleanse(plain, out_len);
    free(plain);
    return 1;
}

/* core.json_valid(text) -> true | false, why[, name]: strict JSON (RFC
 * 8259, UTF-8) in which no object names a member twice. lua-cjson reads
 * more than JSON (0x0, 01, NaN, raw control bytes, invalid UTF-8) and keeps
 * the last of repeated names; a payment result must not be read from
 * anything else. why: "syntax", "duplicate" (name: the repeated name as
 * written) or "memory". */
static int core_json_valid(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    b2c_json_span duplicate;
    int rc = b2c_json_check(text, n, &duplicate);
    if (rc == B2C_JSON_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    if (rc == B2C_JSON_DUPLICATE) {
        lua_pushliteral(L, "duplicate");
        lua_pushlstring(L, duplicate.p, duplicate.n);
        return 3;
    }
    lua_pushstring(L, rc == B2C_JSON_NOMEM ? "memory" : "syntax");
    return 2;
}

/* core.json_literal(text, name, ...) -> the source text of the value at
 * that path of member names, or nil; for text json_valid accepted. Tells a
 * number written 0 from one written 1e-400 (both decode to 0). */
static int core_json_literal(lua_State *L)
{
    size_t n, i, len;
    const char *text = luaL_checklstring(L, 1, &n);
    const char *path[8];
    b2c_json_span value;
    len = (size_t)lua_gettop(L) - 1;
    luaL_argcheck(L, len >= 1 && len <= 8, 2, "1 to 8 member names");
    for (i = 0; i < len; i++)
        path[i] = luaL_checkstring(L, (int)i + 2);
    if (b2c_json_path(text, n, path, len, &value) == 1)
        lua_pushlstring(L, value.p, value.n);
    else
        lua_pushnil(L);
    return 1;
}

/* core.now() -> monotonic seconds, for rates and deadlines */
static int core_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* core.sleep(seconds): a pause with nothing in flight (batch back-off) */
static int core_sleep(lua_State *L)
{
    lua_Number seconds = luaL_checknumber(L, 1);
    struct timespec ts;
    if (seconds <= 0)
        return 0;
    if (seconds > 3600)
        seconds = 3600;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (lua_Number)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
    return 0;
}

static int core_uuid(lua_State *L)
{
    char id[37];
    if (b2c_uuid4(id) < 0)
        return luaL_error(L, "b2c: the random number generator failed");
    lua_pushstring(L, id);
    return 1;
}

/* core.token_key(baseUrl, consumerKey, consumerSecret) -> 64 hex digits.
 * The app's identity (SHA-256 of host, key and secret, as the process token
 * cache uses) for naming its token in a store shared between processes: it
 * tells apps apart without revealing the secret. */
static int core_token_key(lua_State *L)
{
    size_t base_len, key_len, secret_len;
    const char *base = luaL_checklstring(L, 1, &base_len);
    const char *key = luaL_checklstring(L, 2, &key_len);
    const char *secret = luaL_checklstring(L, 3, &secret_len);
    unsigned char id[32];
    char out[65];
    if (strlen(base) != base_len || strlen(key) != key_len || strlen(secret) != secret_len)
        return luaL_error(L, "b2c.core.token_key: strings must not contain NUL bytes");
    if (b2c_app_identity(base, key, secret, id) < 0)
        return luaL_error(L, "b2c.core.token_key: SHA-256 failed");
    b2c_hex(id, sizeof id, out);
    lua_pushlstring(L, out, 64);
    return 1;
}

/* core.certificate_info(bytes) -> table | nil, message
 * Facts about a PEM or DER certificate for operators (b2c cert): subject,
 * commonName, issuer, issuerCommonName, serial, notBefore, notAfter,
 * expired, spkiSha256, keyType, keyBits, ca, dnsNames (list), ipAddresses
 * (a count). Nothing secret is involved. */
static int core_certificate_info(lua_State *L)
{
    size_t len;
    const char *bytes = luaL_checklstring(L, 1, &len);
    char msg[B2C_MSG_SIZE];
    struct b2c_cert_info *info;
    int i;
    /* About 4 KiB: kept off the C stack, freed by the garbage collector. */
    info = (struct b2c_cert_info *)lua_newuserdata(L, sizeof *info);
    if (b2c_certificate_info((const unsigned char *)bytes, len, info, msg) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, msg);
        return 2;
    }
    lua_createtable(L, 0, 14);
    lua_pushstring(L, info->subject);
    lua_setfield(L, -2, "subject");
    lua_pushstring(L, info->common_name);
    lua_setfield(L, -2, "commonName");
    lua_pushstring(L, info->issuer);
    lua_setfield(L, -2, "issuer");
    lua_pushstring(L, info->issuer_cn);
    lua_setfield(L, -2, "issuerCommonName");
    lua_pushstring(L, info->serial);
    lua_setfield(L, -2, "serial");
    lua_pushstring(L, info->not_before);
    lua_setfield(L, -2, "notBefore");
    lua_pushstring(L, info->not_after);
    lua_setfield(L, -2, "notAfter");
    lua_pushboolean(L, info->expired);
    lua_setfield(L, -2, "expired");
    lua_pushstring(L, info->spki_sha256);
    lua_setfield(L, -2, "spkiSha256");
    lua_pushstring(L, info->key_type);
    lua_setfield(L, -2, "keyType");
    lua_pushinteger(L, info->key_bits);
    lua_setfield(L, -2, "keyBits");
    lua_pushboolean(L, info->is_ca);
    lua_setfield(L, -2, "ca");
    lua_createtable(L, info->dns_count, 0);
    for (i = 0; i < info->dns_count; i++) {
        lua_pushstring(L, info->dns[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "dnsNames");
    lua_pushinteger(L, info->ip_count);
    lua_setfield(L, -2, "ipAddresses");
    return 1;
}

static void push_curl_info(lua_State *L)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    lua_pushstring(L, v->version);
    lua_setfield(L, -2, "curlVersion");
    lua_pushstring(L, v->ssl_version ? v->ssl_version : "");
    lua_setfield(L, -2, "sslVersion");
    lua_pushboolean(L, (v->features & CURL_VERSION_ASYNCHDNS) != 0);
    lua_setfield(L, -2, "asyncDns");
}

static const luaL_Reg core_functions[] = {
    {"client", b2c_lua_client_new},
    {"encrypt_credential", core_encrypt_credential},
    {"decrypt_credential", core_decrypt_credential},
    {"uuid", core_uuid},
    {"now", core_now},
    {"json_valid", core_json_valid},
    {"json_literal", core_json_literal},
    {"sleep", core_sleep},
    {"token_key", core_token_key},
    {"certificate_info", core_certificate_info},
    {NULL, NULL}};

#ifdef __cplusplus
extern "C"
#endif
#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_b2c_core(lua_State *L)
{
    if (b2c_http_global_init() < 0)
        return luaL_error(L, "b2c: curl_global_init failed");
    b2c_lua_client_metatable(L);
    b2c_newlib(L, core_functions);
    lua_pushliteral(L, B2C_VERSION);
    lua_setfield(L, -2, "version");
    push_curl_info(L);
    return 1;
}
