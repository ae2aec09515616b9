#include "cre2_shim.h"

#include <re2/re2.h>

#include <cstring>
#include <new>
#include <string>

struct cre2_program {
    re2::RE2 regex;
    cre2_program(re2::StringPiece pattern, const re2::RE2::Options &options) : regex(pattern, options) {}
};

static void copy_error(const std::string &message, char *error, size_t capacity) {
    if (error == nullptr || capacity == 0) return;
    size_t n = message.size() < capacity - 1 ? message.size() : capacity - 1;
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
}

cre2_program *cre2_compile(const char *pattern, size_t length, int64_t max_mem, char *error, size_t error_capacity) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(max_mem);
    options.set_encoding(re2::RE2::Options::EncodingUTF8);
    cre2_program *program = new (std::nothrow) cre2_program(re2::StringPiece(pattern, length), options);
    if (program == nullptr) {
        copy_error("out of memory", error, error_capacity);
        return nullptr;
    }
    if (!program->regex.ok()) {
        copy_error(program->regex.error(), error, error_capacity);
        delete program;
        return nullptr;
    }
    return program;
}

int cre2_partial_match(const cre2_program *program, const char *text, size_t length) {
    return re2::RE2::PartialMatch(re2::StringPiece(text, length), program->regex) ? 1 : 0;
}

int cre2_full_match(const cre2_program *program, const char *text, size_t length) {
    return re2::RE2::FullMatch(re2::StringPiece(text, length), program->regex) ? 1 : 0;
}

void cre2_free(cre2_program *program) {
    delete program;
}
