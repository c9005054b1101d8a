#pragma once
// Where someone stands on a room's stage: the one slot type for the stage in
// Redis (rooms/stage.h), WHIP admission and the media that mixes the stage.

#include <optional>
#include <string_view>

namespace jobcast::rooms {

enum class StageSlot { Main, Guest, Interpreter };

inline const char* stageSlotName(StageSlot slot) {
  switch (slot) {
    case StageSlot::Main:
      return "main";
    case StageSlot::Guest:
      return "guest";
    case StageSlot::Interpreter:
      return "interpreter";
  }
  return "?";
}

inline std::optional<StageSlot> parseStageSlot(std::string_view name) {
  for (auto slot : {StageSlot::Main, StageSlot::Guest, StageSlot::Interpreter}) {
    if (name == stageSlotName(slot))
      return slot;
  }
  return std::nullopt;
}

}  // namespace jobcast::rooms
