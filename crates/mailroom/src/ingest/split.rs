//! Splitting a batch into pieces: separator sheets end a piece and start the next, blank pages are
//! dropped and logged, and without separators every file is one piece.
//!
//! A pure function of the page analyses, so that a restart splits a batch exactly as before and the
//! pieces already filed are recognised by their number.
//!
//! Rules:
//! - A page carrying the separator code (as QR or 1D barcode) is a separator sheet: never content.
//! - A page measured blank is dropped and logged with its measurement; a page kept although nearly
//!   blank is content, and listed for quality control with the reason.
//! - When any page of the batch is a separator sheet, pieces run from separator to separator across
//!   file boundaries (a scanner may write one file per sheet); otherwise every file is one piece.
//! - A file that could not be decoded ends the current piece: pages on either side of a hole are not
//!   glued together.
//! - A piece with no content pages (two separators in a row, only blank pages) is no piece.

use super::model::{BlankPage, PageRef, SeparatorSheet};

/// What analysis found on one page.
#[derive(Clone, Debug, PartialEq)]
pub struct PageScan {
    pub at: PageRef,
    /// Codes on the page: (symbology, text).
    pub codes: Vec<(String, String)>,
    pub ink_ratio: f64,
    pub blank_threshold: f64,
    pub blank: bool,
    /// Why the page was kept although nearly blank (a faint stamp, a lone dot), for quality control.
    pub blank_doubt: Option<String>,
}

/// A content page that blank detection kept although little is on it: a person should look at it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeptInDoubt {
    pub at: PageRef,
    pub batch_page: u32,
    pub reason: String,
}

impl KeptInDoubt {
    /// The quality-control note for the page.
    pub fn note(&self) -> String {
        kept_in_doubt_note(self.batch_page, &self.reason)
    }
}

/// The quality-control note for batch page `batch_page`, kept although nearly blank for `reason`.
pub fn kept_in_doubt_note(batch_page: u32, reason: &str) -> String {
    format!(
        "page {batch_page} was kept although it is nearly blank: {reason}; check whether it carries content"
    )
}

/// The analysed pages of one file, or why it could not be read.
pub type FileScan = Result<Vec<PageScan>, String>;

/// A piece to process: its content pages and what was dropped within its span.
#[derive(Clone, Debug, PartialEq)]
pub struct PiecePlan {
    /// 0-based number of the piece within the batch.
    pub index: u32,
    pub pages: Vec<PageRef>,
    /// Batch page numbers (1-based) of `pages`.
    pub batch_pages: Vec<u32>,
    pub blanks: Vec<BlankPage>,
    /// The separator sheet right before this piece, if any.
    pub separators: Vec<SeparatorSheet>,
}

/// The pieces of a batch and its page accounting.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitPlan {
    pub pieces: Vec<PiecePlan>,
    pub blanks: Vec<BlankPage>,
    pub separators: Vec<SeparatorSheet>,
    /// Content pages kept although nearly blank, in batch order.
    pub kept_in_doubt: Vec<KeptInDoubt>,
    pub pages_fed: u32,
}

impl SplitPlan {
    pub fn pages_stored(&self) -> u32 {
        self.pieces.iter().map(|p| p.pages.len() as u32).sum()
    }

    /// `pages fed == pages stored + blank pages removed + separator sheets`, counted independently.
    pub fn invariant_holds(&self) -> bool {
        self.pages_fed == self.pages_stored() + self.blanks.len() as u32 + self.separators.len() as u32
    }
}

/// Whether a code's text is the separator code (surrounding whitespace ignored, case-sensitive).
pub fn is_separator_code(text: &str, separator_code: &str) -> bool {
    text.trim() == separator_code
}

/// Splits the analysed files of a batch into pieces.
pub fn split(files: &[FileScan], separator_code: &str) -> SplitPlan {
    let separator_of = |page: &PageScan| {
        page.codes.iter().find(|(_, text)| is_separator_code(text, separator_code)).map(|(_, t)| t.clone())
    };
    let uses_separators = files.iter().flatten().flatten().any(|page| separator_of(page).is_some());
    let mut plan = SplitPlan {
        pieces: Vec::new(),
        blanks: Vec::new(),
        separators: Vec::new(),
        kept_in_doubt: Vec::new(),
        pages_fed: 0,
    };
    let mut current = Building::default();
    let mut batch_page = 0u32;
    for file in files {
        let Ok(pages) = file else {
            current.close_into(&mut plan);
            continue;
        };
        for page in pages {
            batch_page += 1;
            plan.pages_fed += 1;
            if let Some(code) = separator_of(page) {
                current.close_into(&mut plan);
                let sheet = SeparatorSheet { at: page.at, batch_page, code };
                plan.separators.push(sheet.clone());
                current.separators.push(sheet);
            } else if page.blank {
                let blank = BlankPage {
                    at: page.at,
                    batch_page,
                    ink_ratio: page.ink_ratio,
                    threshold: page.blank_threshold,
                };
                plan.blanks.push(blank.clone());
                current.blanks.push(blank);
            } else {
                if let Some(reason) = &page.blank_doubt {
                    plan.kept_in_doubt.push(KeptInDoubt { at: page.at, batch_page, reason: reason.clone() });
                }
                current.pages.push(page.at);
                current.batch_pages.push(batch_page);
            }
        }
        if !uses_separators {
            current.close_into(&mut plan);
        }
    }
    current.close_into(&mut plan);
    plan
}

#[derive(Default)]
struct Building {
    pages: Vec<PageRef>,
    batch_pages: Vec<u32>,
    blanks: Vec<BlankPage>,
    separators: Vec<SeparatorSheet>,
}

impl Building {
    /// Ends the piece being built; keeps it when it has content.
    fn close_into(&mut self, plan: &mut SplitPlan) {
        let built = std::mem::take(self);
        if built.pages.is_empty() {
            return;
        }
        plan.pieces.push(PiecePlan {
            index: plan.pieces.len() as u32,
            pages: built.pages,
            batch_pages: built.batch_pages,
            blanks: built.blanks,
            separators: built.separators,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    enum Kind {
        Content,
        /// Content, but kept in doubt by blank detection.
        Doubtful,
        Blank,
        Separator,
    }
    use Kind::*;

    fn file(index: u32, kinds: &[Kind]) -> FileScan {
        Ok(kinds
            .iter()
            .enumerate()
            .map(|(page, kind)| PageScan {
                at: PageRef { file: index, page: page as u32 },
                codes: match kind {
                    Separator => vec![("Code 39".into(), "PATCHT".into())],
                    _ => vec![("QR".into(), "AZ:1-1/2024".into())],
                },
                ink_ratio: if matches!(kind, Blank) { 0.0001 } else { 0.05 },
                blank_threshold: 0.002,
                blank: matches!(kind, Blank),
                blank_doubt: matches!(kind, Doubtful).then(|| "only 1 faint mark(s) up to 4.0 mm".into()),
            })
            .collect())
    }

    fn shape(plan: &SplitPlan) -> Vec<Vec<(u32, u32)>> {
        plan.pieces.iter().map(|p| p.pages.iter().map(|r| (r.file, r.page)).collect()).collect()
    }

    #[test]
    fn without_separators_every_file_is_one_piece() {
        let plan = split(&[file(0, &[Content, Blank, Content]), file(1, &[Content])], "PATCHT");
        assert_eq!(shape(&plan), vec![vec![(0, 0), (0, 2)], vec![(1, 0)]]);
        assert_eq!(plan.blanks.len(), 1);
        assert_eq!(plan.blanks[0].batch_page, 2);
        assert!(plan.invariant_holds());
    }

    #[test]
    fn separators_split_and_are_not_content() {
        let plan =
            split(&[file(0, &[Content, Content, Separator, Content, Blank, Separator, Content])], "PATCHT");
        assert_eq!(shape(&plan), vec![vec![(0, 0), (0, 1)], vec![(0, 3)], vec![(0, 6)]]);
        assert_eq!(plan.separators.len(), 2);
        assert_eq!(plan.pieces[1].separators[0].batch_page, 3);
        assert_eq!(plan.pieces[1].blanks.len(), 1);
        assert_eq!((plan.pages_fed, plan.pages_stored()), (7, 4));
        assert!(plan.invariant_holds());
    }

    #[test]
    fn pages_kept_in_doubt_are_content_and_listed() {
        let plan = split(&[file(0, &[Content, Blank, Doubtful]), file(1, &[Doubtful])], "PATCHT");
        assert_eq!(shape(&plan), vec![vec![(0, 0), (0, 2)], vec![(1, 0)]]);
        let listed: Vec<(u32, PageRef)> = plan.kept_in_doubt.iter().map(|k| (k.batch_page, k.at)).collect();
        assert_eq!(listed, [(3, PageRef { file: 0, page: 2 }), (4, PageRef { file: 1, page: 0 })]);
        assert!(
            plan.kept_in_doubt[0]
                .note()
                .starts_with("page 3 was kept although it is nearly blank: only 1 faint")
        );
        assert!(plan.invariant_holds());
    }

    #[test]
    fn separators_span_files_and_empty_pieces_vanish() {
        let files =
            [file(0, &[Separator, Content]), file(1, &[Content]), file(2, &[Separator, Separator, Blank])];
        let plan = split(&files, "PATCHT");
        assert_eq!(shape(&plan), vec![vec![(0, 1), (1, 0)]]);
        assert_eq!((plan.pages_fed, plan.separators.len(), plan.blanks.len()), (6, 3, 1));
        assert!(plan.invariant_holds());
    }

    #[test]
    fn a_failed_file_ends_the_piece() {
        let files = [file(0, &[Separator, Content]), Err("truncated".into()), file(2, &[Content])];
        let plan = split(&files, "PATCHT");
        assert_eq!(shape(&plan), vec![vec![(0, 1)], vec![(2, 0)]]);
        assert!(plan.invariant_holds());
    }

    #[test]
    fn the_separator_code_is_configurable_and_exact() {
        let plan = split(&[file(0, &[Content, Separator, Content])], "ADAR-NEXTDOC");
        assert_eq!(plan.pieces.len(), 1, "PATCHT is no separator when another code is configured");
        assert!(is_separator_code(" PATCHT\n", "PATCHT"));
        assert!(!is_separator_code("PATCHT2", "PATCHT"));
    }
}
