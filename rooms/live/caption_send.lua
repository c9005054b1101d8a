-- caption.send (captioner). ARGV: text, language, final (1/0), captioner name.
local ev = emit(EVENTS, 'caption', {text = ARGV[1], lang = ARGV[2], final = ARGV[3] == '1',
                            by = ARGV[4], at = now_ms()}, 'all')
return {'ok', '', ev}
