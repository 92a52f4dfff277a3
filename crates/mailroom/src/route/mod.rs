//! Routing: deciding which Akte a piece of incoming mail belongs to (`resolve`, with the text fallback
//! in `text`), and the routing codes the engine prints on outgoing letters so that replies find their
//! way back (`code`).

pub mod code;
pub mod resolve;
pub mod text;
