//! What a page draws with: the fonts that show text (and whether any of it is visible) and the device
//! colour spaces it paints in, found by walking the page's content, the Form XObjects it draws
//! (recursively, with their own or the inherited resources) and its annotations' appearance streams.
//! Both the checker and the normaliser judge fonts and colours from this one walk, so they cannot
//! disagree about what a page uses.
//!
//! Inline images count too: their interpolation flag and colour space. Not walked: Type3 glyph procedures, patterns and shadings, and colour spaces named
//! only through Separation/DeviceN alternates.

use std::collections::{BTreeMap, BTreeSet};

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};

/// Decoded content streams larger than this are not walked; the page is reported as unreadable.
const MAX_CONTENT_BYTES: usize = 256 << 20;

/// How deep Form XObjects may nest before the walk stops (real files use two or three levels; a
/// cycle would otherwise recurse forever).
const MAX_FORM_DEPTH: u32 = 24;

/// One font a page shows text with.
#[derive(Clone, Debug)]
pub(super) struct FontUse<'a> {
    /// The resource name the content selects it by (`F1`).
    pub resource: Vec<u8>,
    pub font: &'a Dictionary,
    /// Whether any text is shown with it in a rendering mode other than 3 (invisible).
    pub visible: bool,
}

impl FontUse<'_> {
    /// `/BaseFont`, or the resource name when the font has none.
    pub(super) fn name(&self) -> String {
        match self.font.get(b"BaseFont").and_then(Object::as_name) {
            Ok(base) => String::from_utf8_lossy(base).into_owned(),
            Err(_) => String::from_utf8_lossy(&self.resource).into_owned(),
        }
    }
}

/// What one page draws with.
#[derive(Debug, Default)]
pub(super) struct PageUsage<'a> {
    pub fonts: Vec<FontUse<'a>>,
    /// `DeviceGray`, `DeviceRGB` or `DeviceCMYK`, as set by colour operators in the content.
    pub device_colours: BTreeSet<&'static str>,
    /// Inline images (`BI … ID … EI`) that ask for interpolation (`/I true`), which PDF/A forbids.
    pub interpolated_inline_images: u32,
    /// Content that could not be decoded or parsed, so nothing is known about it.
    pub unreadable: Vec<String>,
}

/// Walks page `page_id`: its content, the forms it draws and its annotations' appearances.
pub(super) fn page_usage(document: &Document, page_id: ObjectId) -> PageUsage<'_> {
    let mut walker =
        Walker { document, fonts: BTreeMap::new(), usage: PageUsage::default(), visited: BTreeSet::new() };
    let resources = page_resources(document, page_id);
    match document.get_page_content_with_limit(page_id, MAX_CONTENT_BYTES) {
        Ok(content) => walker.walk(&content, &resources, 0, 0, "the page content"),
        Err(error) => walker.usage.unreadable.push(format!("the page content cannot be decoded ({error})")),
    }
    let annotations = document
        .get_dictionary(page_id)
        .ok()
        .and_then(|page| resolve(document, page.get(b"Annots").ok()))
        .and_then(|annotations| annotations.as_array().ok());
    for annotation in annotations.into_iter().flatten() {
        let appearance = resolve(document, Some(annotation))
            .and_then(|annotation| annotation.as_dict().ok())
            .and_then(|annotation| resolve(document, annotation.get(b"AP").ok()))
            .and_then(|appearance| appearance.as_dict().ok());
        for (_, entry) in appearance.into_iter().flat_map(Dictionary::iter) {
            walker.walk_appearance(entry);
        }
    }
    let mut usage = walker.usage;
    usage.fonts = walker.fonts.into_values().collect();
    usage
}

/// Resource dictionaries in lookup order: the page's own, then inherited ones.
type Resources<'a> = Vec<&'a Dictionary>;

fn page_resources(document: &Document, page_id: ObjectId) -> Resources<'_> {
    let Ok((own, inherited)) = document.get_page_resources(page_id) else { return Vec::new() };
    own.into_iter().chain(inherited.into_iter().filter_map(|id| document.get_dictionary(id).ok())).collect()
}

struct Walker<'a> {
    document: &'a Document,
    /// Fonts keyed by their object (or, for direct dictionaries, by resource name).
    fonts: BTreeMap<(Option<ObjectId>, Vec<u8>), FontUse<'a>>,
    usage: PageUsage<'a>,
    /// Forms already walked, with the text rendering mode they were entered in.
    visited: BTreeSet<(ObjectId, i64)>,
}

impl<'a> Walker<'a> {
    /// An appearance entry: a stream, or a dictionary of appearance states each naming a stream.
    fn walk_appearance(&mut self, entry: &'a Object) {
        match entry {
            Object::Reference(id) => match self.document.get_object(*id) {
                Ok(Object::Stream(_)) => self.walk_form(*id, &Vec::new(), 0, 0),
                Ok(Object::Dictionary(states)) => {
                    for (_, state) in states.iter() {
                        if let Object::Reference(id) = state {
                            self.walk_form(*id, &Vec::new(), 0, 0);
                        }
                    }
                }
                _ => {}
            },
            Object::Dictionary(states) => {
                for (_, state) in states.iter() {
                    if let Object::Reference(id) = state {
                        self.walk_form(*id, &Vec::new(), 0, 0);
                    }
                }
            }
            _ => {}
        }
    }

    fn walk_form(&mut self, id: ObjectId, parent: &Resources<'a>, mode: i64, depth: u32) {
        if depth > MAX_FORM_DEPTH || !self.visited.insert((id, mode)) {
            return;
        }
        let Ok(Object::Stream(stream)) = self.document.get_object(id) else { return };
        let resources: Resources<'a> =
            match resolve(self.document, stream.dict.get(b"Resources").ok()).and_then(|r| r.as_dict().ok()) {
                Some(own) => vec![own],
                None => parent.clone(),
            };
        let content = if stream.dict.has(b"Filter") {
            stream.decompressed_content_with_limit(MAX_CONTENT_BYTES)
        } else {
            Ok(stream.content.clone())
        };
        match content {
            Ok(content) => self.walk(&content, &resources, mode, depth + 1, &format!("form {}", id.0)),
            Err(error) => self.usage.unreadable.push(format!("form {} cannot be decoded ({error})", id.0)),
        }
    }

    /// Notes the device colours behind a colour space named in content: a device space itself, or a
    /// space of the resources (operators `cs`/`CS`, inline images' `/CS`).
    fn colour_space_named(&mut self, name: &[u8], resources: &Resources<'a>) {
        match device_colour(name) {
            Some(device) => {
                self.usage.device_colours.insert(device);
            }
            None => {
                if let Some(space) = lookup(self.document, resources, b"ColorSpace", name) {
                    collect_device_colours(self.document, space, &mut self.usage.device_colours, 0);
                }
            }
        }
    }

    fn walk(&mut self, content: &[u8], resources: &Resources<'a>, initial_mode: i64, depth: u32, what: &str) {
        let operations = match Content::decode(content) {
            Ok(content) => content.operations,
            Err(error) => {
                self.usage.unreadable.push(format!("{what} cannot be parsed ({error})"));
                return;
            }
        };
        let (mut mode, mut font) = (initial_mode, Vec::new());
        let mut saved = Vec::new();
        for operation in &operations {
            let name_operand = || operation.operands.first().and_then(|operand| operand.as_name().ok());
            match operation.operator.as_str() {
                "q" => saved.push((mode, font.clone())),
                "Q" => {
                    if let Some((saved_mode, saved_font)) = saved.pop() {
                        (mode, font) = (saved_mode, saved_font);
                    }
                }
                "Tr" => {
                    mode = operation.operands.first().and_then(|operand| operand.as_i64().ok()).unwrap_or(0)
                }
                "Tf" => font = name_operand().map(<[u8]>::to_vec).unwrap_or_default(),
                "Tj" | "TJ" | "'" | "\"" => self.font_used(&font, resources, mode != 3),
                "g" | "G" => {
                    self.usage.device_colours.insert("DeviceGray");
                }
                "rg" | "RG" => {
                    self.usage.device_colours.insert("DeviceRGB");
                }
                "k" | "K" => {
                    self.usage.device_colours.insert("DeviceCMYK");
                }
                "cs" | "CS" => {
                    if let Some(name) = name_operand() {
                        self.colour_space_named(name, resources);
                    }
                }
                "BI" => {
                    let Some(Object::Stream(image)) = operation.operands.first() else { continue };
                    let entry = |short: &[u8], long: &[u8]| {
                        image.dict.get(short).or_else(|_| image.dict.get(long)).ok()
                    };
                    if entry(b"I", b"Interpolate").and_then(|value| value.as_bool().ok()) == Some(true) {
                        self.usage.interpolated_inline_images += 1;
                    }
                    match entry(b"CS", b"ColorSpace") {
                        Some(Object::Name(name)) => self.colour_space_named(name, resources),
                        Some(space) => {
                            collect_device_colours(self.document, space, &mut self.usage.device_colours, 0)
                        }
                        None => {}
                    }
                }
                "Do" => {
                    let Some(name) = name_operand() else { continue };
                    let Some(Object::Reference(id)) = lookup_raw(self.document, resources, b"XObject", name)
                    else {
                        continue;
                    };
                    let is_form =
                        self.document.get_object(*id).ok().and_then(|o| o.as_stream().ok()).is_some_and(
                            |stream| {
                                stream.dict.get(b"Subtype").and_then(Object::as_name).ok()
                                    == Some(b"Form".as_slice())
                            },
                        );
                    if is_form {
                        self.walk_form(*id, resources, mode, depth);
                    }
                }
                _ => {}
            }
        }
    }

    fn font_used(&mut self, name: &[u8], resources: &Resources<'a>, visible: bool) {
        let Some(entry) = lookup_raw(self.document, resources, b"Font", name) else { return };
        let id = entry.as_reference().ok();
        let Some(font) = resolve(self.document, Some(entry)).and_then(|font| font.as_dict().ok()) else {
            return;
        };
        let key = (id, if id.is_some() { Vec::new() } else { name.to_vec() });
        let used = self.fonts.entry(key).or_insert_with(|| FontUse {
            resource: name.to_vec(),
            font,
            visible: false,
        });
        used.visible |= visible;
    }
}

/// The object a resource name stands for, dereferenced.
fn lookup<'a>(
    document: &'a Document,
    resources: &Resources<'a>,
    category: &[u8],
    name: &[u8],
) -> Option<&'a Object> {
    resolve(document, lookup_raw(document, resources, category, name))
}

/// The resource entry as written (usually a reference).
fn lookup_raw<'a>(
    document: &'a Document,
    resources: &Resources<'a>,
    category: &[u8],
    name: &[u8],
) -> Option<&'a Object> {
    resources
        .iter()
        .find_map(|dict| resolve(document, dict.get(category).ok())?.as_dict().ok()?.get(name).ok())
}

/// Device colour spaces a colour space object names, looking into Indexed bases.
pub(super) fn collect_device_colours(
    document: &Document,
    colour_space: &Object,
    out: &mut BTreeSet<&'static str>,
    depth: u8,
) {
    match resolve(document, Some(colour_space)) {
        Some(Object::Name(name)) => {
            if let Some(device) = device_colour(name) {
                out.insert(device);
            }
        }
        Some(Object::Array(parts)) if depth < 4 => {
            if parts.first().and_then(|kind| kind.as_name().ok()) == Some(b"Indexed".as_slice())
                && let Some(base) = parts.get(1)
            {
                collect_device_colours(document, base, out, depth + 1);
            }
        }
        _ => {}
    }
}

pub(super) fn device_colour(name: &[u8]) -> Option<&'static str> {
    match name {
        b"DeviceGray" | b"G" => Some("DeviceGray"),
        b"DeviceRGB" | b"RGB" => Some("DeviceRGB"),
        b"DeviceCMYK" | b"CMYK" => Some("DeviceCMYK"),
        _ => None,
    }
}

/// Follows a reference (or returns a direct object); `None` for missing objects.
fn resolve<'a>(document: &'a Document, object: Option<&'a Object>) -> Option<&'a Object> {
    document.dereference(object?).ok().map(|(_, object)| object)
}
