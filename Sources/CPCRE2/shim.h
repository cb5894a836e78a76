// PCRE2 (8-bit code units) for HTTP_GET / SSL_GET `regex`, as keepalived's check_http.c uses it.
// pcre2.h names its functions through macros Swift cannot import, so the calls Vigil makes are
// wrapped here. Imported by HealthCheck only.
#ifndef VIGIL_CPCRE2_SHIM_H
#define VIGIL_CPCRE2_SHIM_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

/// Compiles `pattern` (`length` bytes) with `options`; NULL with `*error` and `*offset` set on failure.
static inline pcre2_code *vigil_pcre2_compile(const char *pattern, size_t length, uint32_t options, int *error, size_t *offset) {
    PCRE2_SIZE off = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, length, options, error, &off, NULL);
    *offset = off;
    return code;
}

/// The offset where the leftmost match at or after `start` begins: >= 0, -1 when there is none,
/// or -2 with `*error` set to PCRE2's (negative) error code.
static inline long vigil_pcre2_first_match(const pcre2_code *code, const unsigned char *subject, size_t length, size_t start, int *error) {
    pcre2_match_data *data = pcre2_match_data_create_from_pattern(code, NULL);
    if (!data) { *error = PCRE2_ERROR_NOMEMORY; return -2; }
    int rc = pcre2_match(code, (PCRE2_SPTR)subject, length, start, 0, data, NULL);
    long result;
    if (rc >= 0) result = (long)pcre2_get_ovector_pointer(data)[0];
    else if (rc == PCRE2_ERROR_NOMATCH) result = -1;
    else { *error = rc; result = -2; }
    pcre2_match_data_free(data);
    return result;
}

/// PCRE2's message for error `code`, in `buffer`.
static inline void vigil_pcre2_error_message(int code, char *buffer, size_t size) {
    pcre2_get_error_message(code, (PCRE2_UCHAR *)buffer, size);
}

static inline void vigil_pcre2_free(pcre2_code *code) { pcre2_code_free(code); }

#endif
