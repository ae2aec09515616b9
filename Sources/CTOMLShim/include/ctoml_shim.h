// A leak-free C view of toml++ (Debian's libtomlplusplus-dev, header-only): one call parses a
// document into a flat array of nodes owned by one handle, one call frees all of it. The Swift
// side copies what it needs and frees the handle at once, so a parse keeps no memory behind.
#ifndef CTOML_SHIM_H
#define CTOML_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FS_TOML_TABLE = 0,
    FS_TOML_ARRAY = 1,
    FS_TOML_STRING = 2,
    FS_TOML_INTEGER = 3,
    FS_TOML_FLOAT = 4,
    FS_TOML_BOOLEAN = 5,
    FS_TOML_DATE = 6,
    FS_TOML_TIME = 7,
    FS_TOML_DATE_TIME = 8,
} fs_toml_kind;

/// One value of the document. Nodes come in pre-order: a node's parent has a smaller index
/// (the root table is node 0, parent -1), and siblings keep the document's order (toml++'s).
typedef struct {
    int32_t kind;
    int32_t parent;
    /// Tables: 1 for an inline table ({ ... }).
    int32_t is_inline;
    /// The key under the parent table; NULL for array elements and the root.
    const char *key;
    size_t key_length;
    /// Strings; dates and times as toml++ prints them.
    const char *text;
    size_t text_length;
    int64_t integer;
    double number;
    int32_t boolean;
} fs_toml_node;

typedef struct {
    /// 1-based; 0 when toml++ gave no position.
    uint32_t line;
    uint32_t column;
    /// toml++'s description, cut to fit.
    char message[512];
} fs_toml_error;

typedef struct fs_toml_document fs_toml_document;

/// Parses `length` bytes. On failure returns NULL and fills `error`; nothing to free then.
fs_toml_document *fs_toml_parse(const char *text, size_t length, fs_toml_error *error);
size_t fs_toml_node_count(const fs_toml_document *document);
const fs_toml_node *fs_toml_nodes(const fs_toml_document *document);
void fs_toml_free(fs_toml_document *document);

#ifdef __cplusplus
}
#endif

#endif
