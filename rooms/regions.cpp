#include "rooms/regions.h"

namespace jobcast::rooms {

namespace {

struct Row {
  const char* code;
  const char* parent;
  const char* zh;
  const char* mn;
  const char* en;
};

// GB/T 2260. Leagues and cities carry their Mongolian names (as the pages
// show them, web-client/js/i18n.js); banners and counties so far only zh/en.
constexpr Row kTable[] = {
    {"150000", "", "内蒙古自治区", "ᠥᠪᠥᠷ ᠮᠣᠩᠭᠣᠯ", "Inner Mongolia"},
    {"150100", "150000", "呼和浩特市", "ᠬᠥᠬᠡᠬᠣᠲᠠ", "Hohhot"},
    {"150200", "150000", "包头市", "ᠪᠤᠭᠤᠲᠤ", "Baotou"},
    {"150300", "150000", "乌海市", "ᠦᠬᠠᠢ", "Wuhai"},
    {"150400", "150000", "赤峰市", "ᠤᠯᠠᠭᠠᠨᠬᠠᠳᠠ", "Chifeng"},
    {"150500", "150000", "通辽市", "ᠲᠦᠩᠯᠢᠶᠣᠣ", "Tongliao"},
    {"150600", "150000", "鄂尔多斯市", "ᠣᠷᠳᠣᠰ", "Ordos"},
    {"150700", "150000", "呼伦贝尔市", "ᠬᠥᠯᠦᠨᠪᠤᠶᠢᠷ", "Hulunbuir"},
    {"150800", "150000", "巴彦淖尔市", "ᠪᠠᠶᠠᠨᠨᠠᠭᠤᠷ", "Bayannur"},
    {"150900", "150000", "乌兰察布市", "ᠤᠯᠠᠭᠠᠨᠴᠠᠪ", "Ulanqab"},
    {"152200", "150000", "兴安盟", "ᠬᠢᠩᠭᠠᠨ", "Hinggan League"},
    {"152500", "150000", "锡林郭勒盟", "ᠱᠢᠯᠢᠨ ᠭᠣᠣᠯ", "Xilingol League"},
    {"152900", "150000", "阿拉善盟", "ᠠᠯᠠᠱᠠ", "Alxa League"},
    {"150102", "150100", "新城区", "", "Xincheng District"},
    {"150103", "150100", "回民区", "", "Huimin District"},
    {"150104", "150100", "玉泉区", "", "Yuquan District"},
    {"150105", "150100", "赛罕区", "", "Saihan District"},
    {"150121", "150100", "土默特左旗", "", "Tumed Left Banner"},
    {"150122", "150100", "托克托县", "", "Togtoh County"},
    {"150123", "150100", "和林格尔县", "", "Horinger County"},
    {"150124", "150100", "清水河县", "", "Qingshuihe County"},
    {"150125", "150100", "武川县", "", "Wuchuan County"},
    {"150202", "150200", "东河区", "", "Donghe District"},
    {"150203", "150200", "昆都仑区", "", "Kundulun District"},
    {"150204", "150200", "青山区", "", "Qingshan District"},
    {"150205", "150200", "石拐区", "", "Shiguai District"},
    {"150206", "150200", "白云鄂博矿区", "", "Bayan Obo Mining District"},
    {"150207", "150200", "九原区", "", "Jiuyuan District"},
    {"150221", "150200", "土默特右旗", "", "Tumed Right Banner"},
    {"150222", "150200", "固阳县", "", "Guyang County"},
    {"150223", "150200", "达尔罕茂明安联合旗", "", "Darhan Muminggan United Banner"},
    {"150302", "150300", "海勃湾区", "", "Haibowan District"},
    {"150303", "150300", "海南区", "", "Hainan District"},
    {"150304", "150300", "乌达区", "", "Wuda District"},
    {"150602", "150600", "东胜区", "", "Dongsheng District"},
    {"150603", "150600", "康巴什区", "", "Kangbashi District"},
    {"150621", "150600", "达拉特旗", "", "Dalad Banner"},
    {"150622", "150600", "准格尔旗", "", "Jungar Banner"},
    {"150623", "150600", "鄂托克前旗", "", "Otog Front Banner"},
    {"150624", "150600", "鄂托克旗", "", "Otog Banner"},
    {"150625", "150600", "杭锦旗", "", "Hanggin Banner"},
    {"150626", "150600", "乌审旗", "", "Uxin Banner"},
    {"150627", "150600", "伊金霍洛旗", "", "Ejin Horo Banner"},
    {"152501", "152500", "二连浩特市", "", "Erenhot"},
    {"152502", "152500", "锡林浩特市", "", "Xilinhot"},
    {"152921", "152900", "阿拉善左旗", "", "Alxa Left Banner"},
    {"152922", "152900", "阿拉善右旗", "", "Alxa Right Banner"},
    {"152923", "152900", "额济纳旗", "", "Ejin Banner"},
    {"152201", "152200", "乌兰浩特市", "", "Ulanhot"},
    {"152202", "152200", "阿尔山市", "", "Arxan"},
    {"150402", "150400", "红山区", "", "Hongshan District"},
    {"150502", "150500", "科尔沁区", "", "Horqin District"},
    {"150702", "150700", "海拉尔区", "", "Hailar District"},
};

int levelOf(const std::string& code) {
  if (code.empty())
    return 0;
  if (code.substr(2) == "0000")
    return 1;
  if (code.substr(4) == "00")
    return 2;
  return 3;
}

}  // namespace

bool knownRegion(const std::string& code) {
  if (code.empty())
    return true;
  std::string c = canonicalRegion(code);
  if (c.size() != 6)
    return false;
  std::string league = levelOf(c) == 1 ? c : c.substr(0, 4) + "00";
  for (const Row& row : kTable) {
    if (league == row.code)
      return true;
  }
  return false;
}

std::string canonicalRegion(const std::string& code) {
  if (code.size() == 2)
    return code + "0000";
  if (code.size() == 4)
    return code + "00";
  return code;
}

Region regionOf(const std::string& code) {
  std::string c = canonicalRegion(code);
  if (c.empty())
    return Region{"", "", "全部地区", "ᠪᠦᠬᠦ", "All regions", 0};
  for (const auto& row : kTable) {
    if (c == row.code)
      return Region{row.code, row.parent, row.zh, row.mn, row.en, levelOf(c)};
  }
  Region r{c, "", c, "", c, levelOf(c)};
  if (r.level == 2)
    r.parent = c.substr(0, 2) + "0000";
  else if (r.level == 3)
    r.parent = c.substr(0, 4) + "00";
  return r;
}

std::vector<std::string> regionLevels(const std::string& code) {
  std::string c = canonicalRegion(code);
  std::vector<std::string> out{""};
  if (c.size() != 6)
    return out;
  out.push_back(c.substr(0, 2) + "0000");
  if (levelOf(c) >= 2)
    out.push_back(c.substr(0, 4) + "00");
  if (levelOf(c) == 3)
    out.push_back(c);
  return out;
}

std::vector<Region> regionChildren(const std::string& code) {
  std::string c = canonicalRegion(code);
  std::vector<Region> out;
  if (c.empty()) {
    out.push_back(regionOf("150000"));
    return out;
  }
  for (const auto& row : kTable) {
    if (c == row.parent)
      out.push_back(regionOf(row.code));
  }
  return out;
}

}  // namespace jobcast::rooms
