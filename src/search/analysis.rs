//! German text analysis (placeholder).
