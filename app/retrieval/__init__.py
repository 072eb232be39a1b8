"""Retrieval library (no web or database code): load, chunk, embed, index and search documents."""

from app.retrieval.build import BuildReport, CorpusError, build_index
from app.retrieval.chunking import ChunkerParams, chunk_document
from app.retrieval.documents import EVERYONE, Chunk, Document, Hit
from app.retrieval.embeddings import Embedder, ModelNotFound, embedder_for, load_embedder
from app.retrieval.index import IndexNotFound, IndexStore, LoadedIndex, current_build_dir
from app.retrieval.language import LANGUAGES, detect_language
from app.retrieval.loaders import LoadError, load_document
from app.retrieval.rerank import CrossEncoderReranker, Reranker
from app.retrieval.search import FusionWeights, HybridSearcher, SearchResult

__all__ = [
    "EVERYONE", "LANGUAGES", "BuildReport", "Chunk", "ChunkerParams", "CorpusError", "CrossEncoderReranker",
    "Document", "Embedder", "FusionWeights", "Hit", "HybridSearcher", "IndexNotFound", "IndexStore", "LoadError", "LoadedIndex",
    "ModelNotFound", "Reranker", "SearchResult", "build_index", "chunk_document", "current_build_dir",
    "detect_language", "embedder_for", "load_document", "load_embedder",
]
