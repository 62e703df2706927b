"""Pinyin input for names: letters in, Chinese characters out, on the touchscreen's own keyboard.

A kiosk types one thing in Chinese: a person's name. Instead of a full input method and its
dictionary (Debian and PyPI ship hanzi -> pinyin tables such as ``pypinyin``, not the candidate
ranking an input method needs), this module carries a compact table of the characters common in
Chinese surnames and given names, grouped by their toneless pinyin and listed most common first.
``lv`` stands for lü, as on every pinyin keyboard. A character missing from the table can still
be entered by the member's name in Latin letters (the keyboard's ABC mode). tests/ui check every
entry against pypinyin's readings.
"""
from __future__ import annotations

_TABLE = """
a:阿 ai:艾爱 an:安 ao:敖奥 ba:巴 bai:白柏百 ban:班 bao:包鲍宝保 bei:贝北 ben:本 bi:毕碧璧
bian:边卞 bin:斌彬滨 bing:冰兵炳 bo:博波柏 cai:蔡才彩 cao:曹 cen:岑 chang:常昌畅 chao:超朝潮
chen:陈晨辰臣 cheng:程成城诚承 chi:池驰 chu:楚初储 chuan:川传 chun:春纯 cong:丛聪 cui:崔翠
da:达大 dai:戴代黛 dan:丹 deng:邓登 di:狄迪笛 ding:丁定鼎 dong:董东冬栋 dou:窦 du:杜都
duan:段 er:二尔 fan:范樊帆凡 fang:方芳房 fei:费飞菲 fen:芬 feng:冯凤峰锋丰风枫 fu:付傅符福富甫
gan:甘 gang:刚钢 gao:高 ge:葛歌格戈 geng:耿 gong:龚宫巩 gu:顾古谷 guan:关管冠 guang:光广
gui:桂贵 guo:郭国果 hai:海 han:韩涵寒汉晗 hao:郝浩昊豪皓 he:何贺和河荷赫 heng:恒衡
hong:洪红宏鸿虹 hou:侯厚 hu:胡虎湖 hua:华花桦 huai:怀 huan:欢焕环 huang:黄皇 hui:惠慧辉晖
ji:纪姬吉季继霁 jia:贾佳嘉家 jian:简建剑坚健 jiang:江蒋姜 jiao:焦娇 jie:杰洁婕捷 jin:金晋锦瑾
jing:景静晶敬婧靖京 jiu:久玖 ju:鞠菊 jun:军君俊骏 kai:凯开 kang:康 ke:柯可克 kong:孔 kun:坤
lai:赖来 lan:兰岚蓝 lang:郎朗 le:乐 lei:雷蕾磊 li:李黎丽立力莉利理礼 lian:连莲廉 liang:梁良亮
liao:廖 lin:林琳霖麟 ling:凌玲灵铃 liu:刘柳六 long:龙隆 lu:卢陆鲁路露璐 luo:罗骆洛 lv:吕绿
ma:马 mao:毛茂 mei:梅美媚 meng:孟梦萌蒙 mi:米 miao:苗妙 min:闵敏民 ming:明铭鸣 mo:莫墨
mu:穆木慕 na:娜纳 nan:南楠 ni:倪妮 nie:聂 ning:宁凝 niu:牛 ou:欧 pan:潘盼 pei:裴培佩 peng:彭鹏
ping:平萍 pu:蒲朴 qi:齐祁琪琦淇启七 qian:钱倩千谦 qiang:强 qiao:乔巧 qin:秦琴钦勤 qing:青清晴庆卿
qiu:邱秋 qu:瞿曲 quan:全泉 ran:冉然 ren:任仁 rong:荣蓉容融 ru:如茹 rui:瑞睿蕊 san:三
shan:山珊杉善 shang:尚商 shao:邵少绍韶 shen:沈申深 sheng:盛胜生圣 shi:石史施诗世时十
shu:舒淑书树 shuang:双爽 shui:水 si:司思斯丝四 song:宋松颂 su:苏素 sun:孙 tai:泰 tan:谭谈
tang:唐汤棠 tao:陶涛桃 teng:滕腾 tian:田天甜 ting:婷亭庭 tong:童彤桐 wan:万婉宛 wang:王汪旺
wei:魏卫韦伟维薇巍 wen:温文闻雯 wu:吴武伍吾五 xi:习席希曦溪 xia:夏霞 xian:冼贤娴仙
xiang:向项祥翔香湘 xiao:肖萧晓小笑 xie:谢 xin:辛欣新心馨鑫 xing:邢星兴 xiong:熊雄 xiu:秀修
xu:徐许旭 xuan:宣轩萱璇 xue:薛雪学 xun:荀勋 ya:雅亚娅 yan:严颜燕艳彦岩妍言 yang:杨阳洋扬
yao:姚瑶耀遥 ye:叶烨 yi:易毅怡依艺宜逸一 yin:尹殷银茵 ying:应英莹颖瑛 yong:永勇雍 you:尤游友佑
yu:于余俞虞宇雨玉钰瑜羽 yuan:袁元远媛苑 yue:岳月悦越 yun:云芸韵允 zeng:曾 zhai:翟 zhan:詹展湛
zhang:张章彰璋 zhao:赵昭 zhen:甄珍真振 zheng:郑正政铮 zhi:志智芝芷之 zhong:钟仲忠中 zhou:周舟
zhu:朱祝竹珠诸 zhuang:庄 zhuo:卓 zi:子紫梓姿 zong:宗 zou:邹 zuo:左
"""

TABLE: dict[str, str] = dict(entry.split(":") for entry in _TABLE.split())
LONGEST = max(map(len, TABLE))


def syllable(letters: str) -> str:
    """The longest known syllable ``letters`` starts with ('' when none): 'zhangsan' -> 'zhang'."""
    for size in range(min(LONGEST, len(letters)), 0, -1):
        if letters[:size] in TABLE:
            return letters[:size]
    return ""


def candidates(letters: str, limit: int = 12) -> list[str]:
    """Characters for the first syllable of ``letters``; for an unfinished one ('zh'), the
    characters of every syllable it begins, most common syllables' first characters first."""
    if not letters:
        return []
    head = syllable(letters)
    if head:
        return list(TABLE[head])[:limit]
    started = [chars for key, chars in TABLE.items() if key.startswith(letters)]
    ranked = [c for rank in range(max(map(len, started), default=0)) for chars in started if rank < len(chars)
              for c in chars[rank]]
    return ranked[:limit]


def pick(letters: str, char: str) -> str:
    """The letters left after choosing ``char`` for the first syllable ('zhangsan', 张 -> 'san')."""
    head = syllable(letters)
    if head and char in TABLE[head]:
        return letters[len(head):]
    return ""
