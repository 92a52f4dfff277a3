//! A minimal streaming XML writer for xdomea messages: elements in the `xdomea:` namespace prefix, code
//! elements with unqualified `code`/`name` children, text escaped, output buffered in a fixed-size
//! buffer and written to any `std::io::Write` as it goes (nothing is held for the whole document).

use std::io::{BufWriter, Write};

use crate::error::WriteError;

/// The xdomea 3.0.0 namespace.
pub const XDOMEA_NS: &str = "urn:xoev-de:xdomea:schema:3.0.0";

/// Buffer size between the writer and the output: large enough that a zip entry or a gRPC chunk sees few
/// small writes, small enough not to matter for memory.
const BUFFER_BYTES: usize = 64 * 1024;

pub(crate) struct XmlWriter<W: Write> {
    out: BufWriter<W>,
    depth: usize,
}

impl<W: Write> XmlWriter<W> {
    /// Starts a document: the XML declaration and the root element `xdomea:<root>` with the namespace.
    pub(crate) fn start_document(out: W, root: &str) -> Result<Self, WriteError> {
        let mut out = BufWriter::with_capacity(BUFFER_BYTES, out);
        write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xdomea:{root} xmlns:xdomea=\"{XDOMEA_NS}\">"
        )?;
        Ok(XmlWriter { out, depth: 1 })
    }

    /// Closes the root element and flushes; returns the output.
    pub(crate) fn end_document(mut self, root: &str) -> Result<W, WriteError> {
        write!(self.out, "\n</xdomea:{root}>\n")?;
        self.out.into_inner().map_err(|e| WriteError::Io(e.into_error()))
    }

    fn indent(&mut self) -> Result<(), WriteError> {
        self.out.write_all(b"\n")?;
        for _ in 0..self.depth {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    /// `<xdomea:name>` on a new line; children follow.
    pub(crate) fn start(&mut self, name: &str) -> Result<(), WriteError> {
        self.indent()?;
        write!(self.out, "<xdomea:{name}>")?;
        self.depth += 1;
        Ok(())
    }

    /// `</xdomea:name>` on a new line.
    pub(crate) fn end(&mut self, name: &str) -> Result<(), WriteError> {
        self.depth = self.depth.saturating_sub(1);
        self.indent()?;
        write!(self.out, "</xdomea:{name}>")?;
        Ok(())
    }

    /// `<xdomea:name>text</xdomea:name>`, the text escaped. `field` names the input for errors.
    pub(crate) fn text(&mut self, name: &str, text: &str, field: &'static str) -> Result<(), WriteError> {
        self.indent()?;
        write!(self.out, "<xdomea:{name}>")?;
        write_escaped(&mut self.out, text, field)?;
        write!(self.out, "</xdomea:{name}>")?;
        Ok(())
    }

    /// The element when the value is present.
    pub(crate) fn opt_text(
        &mut self,
        name: &str,
        text: Option<&str>,
        field: &'static str,
    ) -> Result<(), WriteError> {
        match text {
            Some(text) => self.text(name, text, field),
            None => Ok(()),
        }
    }

    /// A code element without list attributes: `<xdomea:element><code>…</code></xdomea:element>`.
    pub(crate) fn plain_code(&mut self, element: &str, code: &str) -> Result<(), WriteError> {
        self.indent()?;
        write!(self.out, "<xdomea:{element}><code>")?;
        write_escaped(&mut self.out, code, "code")?;
        write!(self.out, "</code></xdomea:{element}>")?;
        Ok(())
    }

    /// A code element (`xoev-code:Code` restriction): `listURI`/`listVersionID` attributes and the
    /// unqualified children `code` and (optionally) `name`.
    pub(crate) fn code(
        &mut self,
        element: &str,
        list_uri: &str,
        list_version: &str,
        code: &str,
        name: Option<&str>,
    ) -> Result<(), WriteError> {
        self.indent()?;
        write!(self.out, "<xdomea:{element} listURI=\"{list_uri}\" listVersionID=\"{list_version}\">")?;
        self.depth += 1;
        self.indent()?;
        self.out.write_all(b"<code>")?;
        write_escaped(&mut self.out, code, "code")?;
        self.out.write_all(b"</code>")?;
        if let Some(name) = name {
            self.indent()?;
            self.out.write_all(b"<name>")?;
            write_escaped(&mut self.out, name, "code name")?;
            self.out.write_all(b"</name>")?;
        }
        self.depth -= 1;
        self.indent()?;
        write!(self.out, "</xdomea:{element}>")?;
        Ok(())
    }
}

/// Writes `text` with `&`, `<`, `>`, `"` escaped. Characters XML 1.0 cannot carry at all (controls other
/// than tab, line feed, carriage return; U+FFFE, U+FFFF) are refused: an archive cannot read them, and
/// replacing them would silently change the record.
fn write_escaped(out: &mut impl Write, text: &str, field: &'static str) -> Result<(), WriteError> {
    let mut start = 0;
    for (index, c) in text.char_indices() {
        let replacement: &[u8] = match c {
            '&' => b"&amp;",
            '<' => b"&lt;",
            '>' => b"&gt;",
            '"' => b"&quot;",
            '\t' | '\n' | '\r' => continue,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(WriteError::InvalidCharacter { field, character: c as u32 });
            }
            _ => continue,
        };
        out.write_all(&text.as_bytes()[start..index])?;
        out.write_all(replacement)?;
        start = index + c.len_utf8();
    }
    out.write_all(&text.as_bytes()[start..])?;
    Ok(())
}
