"""What replies look like, on every surface, without Discord.

`card` holds the neutral `Card` and the text rules; `answers`, `lookups` and `probe` build the cards;
`terminal` (rich) and `text` (plain) render them outside Discord, and `output.render_for` picks between those two
for a stream. Discord's renderer is the adapter `bot.exts.common.card_embed`.
"""
