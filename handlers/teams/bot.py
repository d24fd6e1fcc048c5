"""The Teams bot: messages become commands, ``adaptiveCard/action`` invokes become card actions."""

from __future__ import annotations

from http import HTTPStatus

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import AdaptiveCardInvokeResponse
from msrest.serialization import Model

from handlers.teams.actions import CardActions
from handlers.teams.commands import Commands
from handlers.teams.ids import CARD_CONTENT_TYPE, ERROR_CONTENT_TYPE
from handlers.teams.turns import Turn, command_text

CARD_ACTION = "adaptiveCard/action"
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"


class MessageInvokeResponse(Model):
    """An ``adaptiveCard/action`` answer whose value is a message (the SDK's model takes only
    objects as values)."""

    _attribute_map = {
        "status_code": {"key": "statusCode", "type": "int"},
        "type": {"key": "type", "type": "str"},
        "value": {"key": "value", "type": "str"},
    }  # msrest's Model.__init__ sets these from its keyword arguments


class CrierTeamsBot(ActivityHandler):
    def __init__(self, *, commands: Commands, actions: CardActions) -> None:
        self._commands = commands
        self._actions = actions

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await self._commands.run(Turn(turn_context), command_text(turn_context.activity))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        # The answer is a model, serialised once by the adapter (the base class would serialise
        # it twice and fail).
        turn = Turn(turn_context)
        if turn_context.activity.name != CARD_ACTION or turn.action.get("type") != "Action.Execute":
            error = AdaptiveCardInvokeResponse(
                status_code=HTTPStatus.BAD_REQUEST,
                type=ERROR_CONTENT_TYPE,
                value={"code": "BadRequest", "message": "Crier answers Action.Execute only."},
            )
            return InvokeResponse(status=HTTPStatus.OK, body=error)
        shown = await self._actions.run(turn)
        if isinstance(shown, str):  # a message the client shows; the card stays as it is
            answer: Model = MessageInvokeResponse(status_code=200, type=MESSAGE_TYPE, value=shown)
        else:
            answer = AdaptiveCardInvokeResponse(
                status_code=200, type=CARD_CONTENT_TYPE, value=shown
            )
        return InvokeResponse(status=HTTPStatus.OK, body=answer)
