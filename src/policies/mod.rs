//! The DPO's pages: policies and their yearly versions, drafted, previewed, compared and
//! published (publishing stamps the content hash that agreements refer to); and the import
//! of a Word AUP's text as a draft.

pub mod editor;
pub mod import;
pub mod publish;
