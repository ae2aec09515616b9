// See include/ctoml_shim.h. Walks the parsed tree with an explicit stack, so no recursion depth
// here depends on the input (the policy's pre-scan bounds nesting before toml++ sees the text).
#include "ctoml_shim.h"

#include <cstring>
#include <deque>
#include <new>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

struct fs_toml_document {
    std::vector<fs_toml_node> nodes;
    // A deque never moves its elements, so the nodes' pointers into these strings stay valid.
    std::deque<std::string> strings;
};

namespace {

const char *keep(fs_toml_document &doc, std::string s, size_t &length) {
    doc.strings.push_back(std::move(s));
    length = doc.strings.back().size();
    return doc.strings.back().c_str();
}

template <typename T> std::string printed(const T &value) {
    std::ostringstream out;
    out << value;
    return out.str();
}

struct Pending {
    const toml::node *node;
    int32_t parent;
    const toml::key *key;  // owned by the parsed table, which outlives the walk
};

void flatten(const toml::table &root, fs_toml_document &doc) {
    std::vector<Pending> stack;
    stack.push_back({&root, -1, nullptr});
    std::vector<Pending> children;
    while (!stack.empty()) {
        Pending p = stack.back();
        stack.pop_back();
        fs_toml_node n{};
        n.parent = p.parent;
        if (p.key) n.key = keep(doc, std::string(p.key->str()), n.key_length);
        const int32_t index = static_cast<int32_t>(doc.nodes.size());
        children.clear();
        switch (p.node->type()) {
        case toml::node_type::table: {
            const auto &t = *p.node->as_table();
            n.kind = FS_TOML_TABLE;
            n.is_inline = t.is_inline() ? 1 : 0;
            for (auto &&[k, v] : t) children.push_back({&v, index, &k});
            break;
        }
        case toml::node_type::array: {
            const auto &a = *p.node->as_array();
            n.kind = FS_TOML_ARRAY;
            for (auto &&v : a) children.push_back({&v, index, nullptr});
            break;
        }
        case toml::node_type::string:
            n.kind = FS_TOML_STRING;
            n.text = keep(doc, p.node->as_string()->get(), n.text_length);
            break;
        case toml::node_type::integer:
            n.kind = FS_TOML_INTEGER;
            n.integer = p.node->as_integer()->get();
            break;
        case toml::node_type::floating_point:
            n.kind = FS_TOML_FLOAT;
            n.number = p.node->as_floating_point()->get();
            break;
        case toml::node_type::boolean:
            n.kind = FS_TOML_BOOLEAN;
            n.boolean = p.node->as_boolean()->get() ? 1 : 0;
            break;
        case toml::node_type::date:
            n.kind = FS_TOML_DATE;
            n.text = keep(doc, printed(*p.node->as_date()), n.text_length);
            break;
        case toml::node_type::time:
            n.kind = FS_TOML_TIME;
            n.text = keep(doc, printed(*p.node->as_time()), n.text_length);
            break;
        case toml::node_type::date_time:
            n.kind = FS_TOML_DATE_TIME;
            n.text = keep(doc, printed(*p.node->as_date_time()), n.text_length);
            break;
        default:
            continue;
        }
        doc.nodes.push_back(n);
        // Reversed onto the stack, so they come off in the document's order.
        for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(*it);
    }
}

void describe(fs_toml_error *error, const char *message, uint32_t line, uint32_t column) {
    if (!error) return;
    error->line = line;
    error->column = column;
    std::strncpy(error->message, message, sizeof error->message - 1);
    error->message[sizeof error->message - 1] = '\0';
}

}  // namespace

extern "C" fs_toml_document *fs_toml_parse(const char *text, size_t length, fs_toml_error *error) {
    try {
        toml::table root = toml::parse(std::string_view(text, length));
        auto *doc = new fs_toml_document();
        try {
            flatten(root, *doc);
        } catch (...) {
            delete doc;
            throw;
        }
        return doc;
    } catch (const toml::parse_error &e) {
        describe(error, std::string(e.description()).c_str(), e.source().begin.line, e.source().begin.column);
    } catch (const std::bad_alloc &) {
        describe(error, "out of memory", 0, 0);
    } catch (const std::exception &e) {
        describe(error, e.what(), 0, 0);
    }
    return nullptr;
}

extern "C" size_t fs_toml_node_count(const fs_toml_document *document) { return document->nodes.size(); }

extern "C" const fs_toml_node *fs_toml_nodes(const fs_toml_document *document) { return document->nodes.data(); }

extern "C" void fs_toml_free(fs_toml_document *document) { delete document; }
