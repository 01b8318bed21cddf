"""The use cases without Discord: imagine, child jobs, history, preferences, privacy,
appeals and the moderators' tools. Plain values in, plain results out (UserFacingError for
what a member can fix); used by bot/ and, later, web/. Imports inference.prompt, moderation
and db; never discord, never torch."""
