//! The search use cases: searching within the caller's permissions, and reindexing.
//!
//! A Fachverfahren limited to Aktenplan subtrees searches only those: the restriction is a filter of
//! the query itself, so hits and counts alike never include anything outside them.

use chrono::NaiveDate;

use super::records::require_role;
use super::{Engine, ServiceError};
use crate::auth::{Principal, Role};
use crate::records::aktenzeichen::AktenplanKey;
use crate::records::model::Channel;
use crate::search::{Progress, RebuildReport, SearchFilters, SearchRequest, SearchResults, SortOrder};

/// Hits per page when the caller names no limit, and the most a page may have.
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;
/// Queries longer than this are refused.
pub const MAX_QUERY_CHARS: usize = 2_000;

/// A search as a client asks for it, before validation.
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    pub query: String,
    /// Aktenplan units; hits lie in one of these subtrees.
    pub units: Vec<String>,
    pub aktenzeichen: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub channels: Vec<String>,
    pub media_types: Vec<String>,
    pub akte_open: Option<bool>,
    pub order: Option<SortOrder>,
    /// 0: the default page size.
    pub limit: usize,
    pub cursor: Option<String>,
}

impl SearchQuery {
    fn validate(self) -> Result<SearchRequest, ServiceError> {
        let invalid = ServiceError::InvalidArgument;
        if self.query.chars().count() > MAX_QUERY_CHARS {
            return Err(invalid(format!(
                "the query is longer than {MAX_QUERY_CHARS} characters; shorten it"
            )));
        }
        if self.limit > MAX_PAGE {
            return Err(invalid(format!(
                "limit {} is above {MAX_PAGE}; page with the cursor instead",
                self.limit
            )));
        }
        for unit in &self.units {
            AktenplanKey::parse(unit).map_err(|e| invalid(format!("unit filter {unit:?}: {e}")))?;
        }
        for channel in &self.channels {
            if Channel::parse(channel).is_none() {
                return Err(invalid(format!(
                    "unknown channel {channel:?}; use paper_scan, email, fachverfahren or other"
                )));
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(invalid(format!("the date range {from} .. {to} is empty; swap the dates")));
        }
        Ok(SearchRequest {
            query: self.query,
            filters: SearchFilters {
                units: self.units,
                aktenzeichen: self
                    .aktenzeichen
                    .filter(|a| !a.trim().is_empty())
                    .map(|a| a.trim().to_string()),
                from: self.from,
                to: self.to,
                channels: self.channels,
                media_types: self.media_types,
                akte_open: self.akte_open,
            },
            order: self.order,
            limit: if self.limit == 0 { DEFAULT_PAGE } else { self.limit },
            cursor: self.cursor.filter(|c| !c.is_empty()),
        })
    }
}

impl Engine {
    /// Searches every Dokument the caller may read.
    pub async fn search(
        &self,
        principal: &Principal,
        query: SearchQuery,
    ) -> Result<SearchResults, ServiceError> {
        require_role(principal, &[Role::Fachverfahren, Role::Archivist, Role::Admin], "search")?;
        let request = query.validate()?;
        let scopes: Vec<String> = principal.scopes.iter().map(|scope| scope.as_str().to_string()).collect();
        self.blocking(move |engine| Ok(engine.inner.search.snapshot()?.search(&request, &scopes)?)).await
    }

    /// Rebuilds the search index from the records; `progress` receives every step. Searches keep
    /// being answered from the old index until the new one is complete.
    pub async fn reindex(
        &self,
        principal: &Principal,
        progress: impl FnMut(Progress) + Send + 'static,
    ) -> Result<RebuildReport, ServiceError> {
        require_role(principal, &[Role::Admin, Role::Archivist], "rebuild the search index")?;
        tracing::info!(by = %principal.name, "search index rebuild requested");
        self.blocking(move |engine| Ok(engine.inner.search.rebuild(progress)?)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_what_is_wrong() {
        let bad = |query: SearchQuery| query.validate().unwrap_err().to_string();
        assert!(bad(SearchQuery { limit: 500, ..Default::default() }).contains("above 100"));
        assert!(
            bad(SearchQuery { units: vec!["32..1".into()], ..Default::default() }).contains("unit filter")
        );
        assert!(
            bad(SearchQuery { channels: vec!["fax".into()], ..Default::default() })
                .contains("unknown channel")
        );
        let from = NaiveDate::from_ymd_opt(2025, 2, 1);
        let to = NaiveDate::from_ymd_opt(2025, 1, 1);
        assert!(bad(SearchQuery { from, to, ..Default::default() }).contains("empty"));
    }

    #[test]
    fn defaults_fill_in_the_page_size_and_drop_empty_values() {
        let request = SearchQuery {
            aktenzeichen: Some("  ".into()),
            cursor: Some(String::new()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(request.limit, DEFAULT_PAGE);
        assert!(request.filters.aktenzeichen.is_none());
        assert!(request.cursor.is_none());
    }
}
