//! The search use cases: searching within the caller's permissions, and reindexing.
//!
//! A Fachverfahren limited to Aktenplan subtrees searches only those: the restriction is a filter of
//! the query itself, so hits and counts alike never include anything outside them.

use super::records::require_role;
use super::{Engine, ServiceError};
use crate::auth::{Principal, Role};
use registratur_records::aktenzeichen::AktenplanKey;
use registratur_records::model::Channel;
use registratur_search::{Progress, RebuildReport, SearchRequest, SearchResults};

/// Hits per page when the caller names no limit, and the most a page may have.
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;
/// Queries longer than this are refused.
pub const MAX_QUERY_CHARS: usize = 2_000;

/// Checks a request as a client sent it, and fills in defaults: a limit of 0 means the default page,
/// blank Aktenzeichen and cursors mean none.
fn validate(mut request: SearchRequest) -> Result<SearchRequest, ServiceError> {
    let invalid = ServiceError::InvalidArgument;
    let filters = &mut request.filters;
    if request.query.chars().count() > MAX_QUERY_CHARS {
        return Err(invalid(format!("the query is longer than {MAX_QUERY_CHARS} characters; shorten it")));
    }
    if request.limit > MAX_PAGE {
        return Err(invalid(format!(
            "limit {} is above {MAX_PAGE}; page with the cursor instead",
            request.limit
        )));
    }
    for unit in &filters.units {
        AktenplanKey::parse(unit).map_err(|e| invalid(format!("unit filter {unit:?}: {e}")))?;
    }
    for channel in &filters.channels {
        if Channel::parse(channel).is_none() {
            return Err(invalid(format!(
                "unknown channel {channel:?}; use paper_scan, email, fachverfahren or other"
            )));
        }
    }
    if let (Some(from), Some(to)) = (filters.from, filters.to)
        && from > to
    {
        return Err(invalid(format!("the date range {from} .. {to} is empty; swap the dates")));
    }
    filters.aktenzeichen =
        filters.aktenzeichen.take().map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
    request.cursor = request.cursor.filter(|c| !c.is_empty());
    if request.limit == 0 {
        request.limit = DEFAULT_PAGE;
    }
    Ok(request)
}

impl Engine {
    /// Searches every Dokument the caller may read.
    pub async fn search(
        &self,
        principal: &Principal,
        request: SearchRequest,
    ) -> Result<SearchResults, ServiceError> {
        require_role(principal, &[Role::Fachverfahren, Role::Archivist, Role::Admin], "search")?;
        let request = validate(request)?;
        let scopes: Vec<String> = principal.scopes.iter().map(|scope| scope.as_str().to_string()).collect();
        let started = std::time::Instant::now();
        let results = self.blocking(move |engine| Ok(engine.inner.search.search(&request, &scopes)?)).await;
        registratur_ops::metrics::global().add_search_time(started.elapsed());
        results
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
    use chrono::NaiveDate;

    use super::*;
    use registratur_search::SearchFilters;

    fn filtered(filters: SearchFilters) -> SearchRequest {
        SearchRequest { filters, ..Default::default() }
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let bad = |request: SearchRequest| validate(request).unwrap_err().to_string();
        assert!(bad(SearchRequest { limit: 500, ..Default::default() }).contains("above 100"));
        let units = vec!["32..1".to_string()];
        assert!(bad(filtered(SearchFilters { units, ..Default::default() })).contains("unit filter"));
        let channels = vec!["fax".to_string()];
        assert!(bad(filtered(SearchFilters { channels, ..Default::default() })).contains("unknown channel"));
        let from = NaiveDate::from_ymd_opt(2025, 2, 1);
        let to = NaiveDate::from_ymd_opt(2025, 1, 1);
        assert!(bad(filtered(SearchFilters { from, to, ..Default::default() })).contains("empty"));
    }

    #[test]
    fn defaults_fill_in_the_page_size_and_drop_empty_values() {
        let blank = SearchFilters { aktenzeichen: Some("  ".into()), ..Default::default() };
        let request = validate(SearchRequest { cursor: Some(String::new()), ..filtered(blank) }).unwrap();
        assert_eq!(request.limit, DEFAULT_PAGE);
        assert!(request.filters.aktenzeichen.is_none());
        assert!(request.cursor.is_none());
    }
}
