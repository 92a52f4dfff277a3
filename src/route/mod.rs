//! Routing: deciding which Akte a piece of incoming mail belongs to, and the routing codes the engine
//! prints on outgoing letters so that replies find their way back.

pub mod code;
