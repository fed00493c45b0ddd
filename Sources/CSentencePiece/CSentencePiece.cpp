#include "CSentencePiece.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>

struct spm_processor {
    sentencepiece::SentencePieceProcessor sp;
};

static char *copy_string(const std::string &s) {
    char *out = static_cast<char *>(std::malloc(s.size() + 1));
    if (out) {
        std::memcpy(out, s.data(), s.size());
        out[s.size()] = '\0';
    }
    return out;
}

static void set_error(char **error, const std::string &message) {
    if (error) *error = copy_string(message);
}

spm_processor *spm_load(const char *bytes, size_t length, char **error) {
    try {
        auto *p = new spm_processor();
        auto status = p->sp.LoadFromSerializedProto(std::string(bytes, length));
        if (!status.ok()) {
            set_error(error, status.ToString());
            delete p;
            return nullptr;
        }
        return p;
    } catch (const std::exception &e) {
        set_error(error, e.what());
        return nullptr;
    }
}

void spm_free(spm_processor *processor) { delete processor; }

int spm_encode(const spm_processor *processor, const char *text, size_t length,
               char **pieces, size_t *count, size_t *size, char **error) {
    try {
        std::vector<std::string> out;
        auto status = processor->sp.Encode(std::string(text, length), &out);
        if (!status.ok()) {
            set_error(error, status.ToString());
            return 1;
        }
        size_t total = 0;
        for (const auto &piece : out) total += piece.size() + 1;
        char *buffer = static_cast<char *>(std::malloc(total > 0 ? total : 1));
        if (!buffer) {
            set_error(error, "out of memory");
            return 1;
        }
        char *cursor = buffer;
        for (const auto &piece : out) {
            std::memcpy(cursor, piece.data(), piece.size());
            cursor[piece.size()] = '\0';
            cursor += piece.size() + 1;
        }
        *pieces = buffer;
        *count = out.size();
        *size = total;
        return 0;
    } catch (const std::exception &e) {
        set_error(error, e.what());
        return 1;
    }
}

int spm_decode(const spm_processor *processor, const char *const *pieces, size_t count,
               char **text, char **error) {
    try {
        std::vector<std::string> in(pieces, pieces + count);
        std::string out;
        auto status = processor->sp.Decode(in, &out);
        if (!status.ok()) {
            set_error(error, status.ToString());
            return 1;
        }
        *text = copy_string(out);
        return *text ? 0 : 1;
    } catch (const std::exception &e) {
        set_error(error, e.what());
        return 1;
    }
}

int spm_piece_count(const spm_processor *processor) { return processor->sp.GetPieceSize(); }

void spm_free_string(char *string) { std::free(string); }
