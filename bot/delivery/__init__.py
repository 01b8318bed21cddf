"""Getting messages to Discord: answers within the 3 s deadline (replies), job messages
(posting), progress edits and results within Discord's edit limits (updates, throttle), the
interaction token's life (tokens), alerts and notices nobody asked for (alerts)."""
