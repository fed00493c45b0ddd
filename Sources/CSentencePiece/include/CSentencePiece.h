// A C interface over the SentencePiece C++ library (Debian libsentencepiece-dev), so that Swift
// can call it without C++ interop. Every function reports failure through its return value;
// nothing here throws or aborts.
#ifndef C_SENTENCEPIECE_H
#define C_SENTENCEPIECE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spm_processor spm_processor;

/// Loads a serialized SentencePiece model. Returns NULL on failure and, if `error` is not NULL,
/// a malloc'ed message in *error that the caller frees with spm_free_string.
spm_processor *spm_load(const char *bytes, size_t length, char **error);
void spm_free(spm_processor *processor);

/// Encodes UTF-8 text into pieces. On success returns 0 and sets *pieces to a malloc'ed buffer of
/// *count NUL-terminated pieces laid end to end (total size *size bytes); free it with spm_free_string.
int spm_encode(const spm_processor *processor, const char *text, size_t length,
               char **pieces, size_t *count, size_t *size, char **error);

/// Decodes pieces into text. On success returns 0 and sets *text to a malloc'ed NUL-terminated string.
int spm_decode(const spm_processor *processor, const char *const *pieces, size_t count,
               char **text, char **error);

/// Number of pieces in the model, and the piece of an id (NULL when out of range; owned by the processor).
int spm_piece_count(const spm_processor *processor);

void spm_free_string(char *string);

#ifdef __cplusplus
}
#endif

#endif
