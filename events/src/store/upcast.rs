//! Upcasting: old schema versions are lifted step by step when read.

use std::collections::HashMap;

use crate::event::RecordedEvent;

pub type UpcastFn = fn(serde_json::Value) -> serde_json::Value;

/// Old schema versions are lifted step by step to the current one when read; stored events
/// are never rewritten.
#[derive(Default)]
pub struct Upcasters {
    steps: HashMap<(String, i32), UpcastFn>,
}

impl Upcasters {
    /// Registers the step that turns `event_type` at `from_schema` into `from_schema + 1`.
    pub fn register(mut self, event_type: &str, from_schema: i32, step: UpcastFn) -> Self {
        self.steps.insert((event_type.to_owned(), from_schema), step);
        self
    }

    pub fn upcast(&self, mut event: RecordedEvent) -> RecordedEvent {
        if self.steps.is_empty() {
            return event;
        }
        while let Some(step) = self.steps.get(&(event.event_type.clone(), event.schema)) {
            event.data = step(std::mem::take(&mut event.data));
            event.schema += 1;
        }
        event
    }
}
