"""The section picker: /sections and the taps on its buttons."""

from __future__ import annotations

from telegram import Message, Update

from bot import keyboards, replies
from bot.botdata import Context
from bot.handlers.context import db, may_manage, send, unless_unchanged, where
from bot.i18n import t
from storage import subscriptions


async def sections(update: Update, context: Context) -> None:
    """Show the section picker."""
    here = await where(update, context)
    if here is None or update.effective_message is None:
        return
    rt = context.bot_data.runtime
    followed = await subscriptions.sections_of(db(context), here.chat_id, here.thread_id)
    markup = keyboards.picker(rt.sections, followed, here.lang)
    await send(update.effective_message, t(here.lang, "picker_prompt"), markup)


async def tap(update: Update, context: Context) -> None:
    """Follow or unfollow a section, or All / None / Done, editing the keyboard in place."""
    query = update.callback_query
    here = await where(update, context)
    if query is None or here is None:
        return
    lang = here.lang
    if not isinstance(query.message, Message):
        await query.answer(t(lang, "toast_stale"))  # too old to edit; nothing to refresh
        return
    if not await may_manage(update, context):
        await query.answer(t(lang, "admins_only"), show_alert=True)
        return
    rt = context.bot_data.runtime
    conn, chat, thread = db(context), here.chat_id, here.thread_id
    offered = {s.slug for s in keyboards.visible(rt.sections)}
    followed = await subscriptions.sections_of(conn, chat, thread)
    data, pick = query.data or "", keyboards.parse_pick(query.data or "")

    if data == keyboards.PICK_OPEN:
        await query.answer()
        async with unless_unchanged():
            await query.edit_message_text(
                t(lang, "picker_prompt"),
                parse_mode="HTML",
                reply_markup=keyboards.picker(rt.sections, followed, lang),
            )
        return
    if data == keyboards.PICK_DONE:
        await query.answer(t(lang, "toast_saved"))
        shown = replies.names(rt.sections, followed)
        text = t(lang, "picker_done", sections=shown) if shown else t(lang, "picker_done_empty")
        async with unless_unchanged():
            await query.edit_message_text(text, parse_mode="HTML")
        return

    if data == keyboards.PICK_ALL:
        wanted, toast = followed | offered, t(lang, "toast_all")
    elif data == keyboards.PICK_NONE:
        wanted, toast = followed - offered, t(lang, "toast_none")
    elif pick is not None and pick[1] in offered:
        follow, slug = pick
        wanted = followed | {slug} if follow else followed - {slug}
        name = next(s.name for s in rt.sections if s.slug == slug)
        toast = t(lang, "toast_on" if follow else "toast_off", section=name)
    else:
        # Forged, or from a keyboard whose section has since left the catalogue.
        await query.answer(t(lang, "toast_stale"))
        async with unless_unchanged():
            await query.edit_message_reply_markup(keyboards.picker(rt.sections, followed, lang))
        return

    if wanted == followed:
        await query.answer(t(lang, "toast_unchanged"))
        return
    await subscriptions.add(conn, chat, wanted - followed, thread)
    await subscriptions.remove(conn, chat, followed - wanted, thread)
    await query.answer(toast)
    async with unless_unchanged():
        await query.edit_message_reply_markup(keyboards.picker(rt.sections, wanted, lang))
