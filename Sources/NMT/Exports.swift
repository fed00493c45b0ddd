// `import NMT` brings the whole pipeline: model files, tokenizer, model, searches, translator.
@_exported import NMTDecoding
@_exported import NMTFormat
@_exported import NMTModel
@_exported import NMTTokenizer
