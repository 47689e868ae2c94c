"""A small message catalogue (English / 简体中文) for the pages and their scripts.

Templates call ``t("key")``; scripts read the same catalogue from a JSON block in the page. The
language comes from the ``sp_lang`` cookie (set by ``/lang/{code}``), else ``Accept-Language``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from soberpay.web.ux_messages import UX_MESSAGES

LANGS = ("en", "zh")

MESSAGES: dict[str, dict[str, str]] = {
    "app.title": {"en": "soberpay", "zh": "清醒付"},
    "app.tagline": {"en": "Face payment with a consent-based sobriety guard", "zh": "刷脸支付，经您同意的醉酒保护"},
    "nav.kiosk": {"en": "Registration kiosk", "zh": "登记自助机"},
    "nav.room": {"en": "Room touchscreen", "zh": "包房点单屏"},
    "nav.staff": {"en": "Staff dashboard", "zh": "员工后台"},
    "nav.audit": {"en": "Audit log", "zh": "审计日志"},
    "nav.logout": {"en": "Sign out", "zh": "退出登录"},
    "lang.switch": {"en": "中文", "zh": "English"},
    # kiosk
    "kiosk.title": {"en": "Register for face payment", "zh": "登记刷脸支付"},
    "kiosk.step1": {"en": "1. Your details", "zh": "1. 个人信息"},
    "kiosk.step2": {"en": "2. Your choices (nothing is pre-selected)", "zh": "2. 您的选择（默认均不勾选）"},
    "kiosk.step3": {"en": "3. Face photos", "zh": "3. 人脸照片"},
    "kiosk.name": {"en": "Name", "zh": "姓名"},
    "kiosk.phone": {"en": "Mobile number", "zh": "手机号"},
    "kiosk.national_id": {"en": "ID card number (18 characters)", "zh": "身份证号（18位）"},
    "kiosk.password": {"en": "6-digit payment password", "zh": "6位支付密码"},
    "kiosk.sex": {"en": "Sex (optional, for the alcohol estimate)", "zh": "性别（可选，用于酒精估算）"},
    "kiosk.weight": {"en": "Weight in kg (optional)", "zh": "体重（公斤，可选）"},
    "kiosk.unspecified": {"en": "Prefer not to say", "zh": "不填写"},
    "kiosk.consent.face_payment": {"en": "I agree to face payment", "zh": "我同意刷脸支付"},
    "kiosk.consent.sobriety_monitoring": {"en": "I agree to sobriety monitoring", "zh": "我同意醉酒状态监测"},
    "kiosk.consent.behaviour_profiling": {"en": "I agree to spending-pattern checks", "zh": "我同意消费行为分析"},
    "kiosk.register": {"en": "Register", "zh": "登记"},
    "kiosk.registered": {"en": "Registered. Welcome,", "zh": "登记成功，欢迎"},
    "kiosk.no_face_consent": {
        "en": "You chose not to use face payment: pay with your phone number and password.",
        "zh": "您未选择刷脸支付：可使用手机号和支付密码付款。",
    },
    "kiosk.camera": {"en": "Look at the camera", "zh": "请看向摄像头"},
    "kiosk.camera_off": {"en": "No camera available: upload photos instead.", "zh": "没有可用的摄像头：请上传照片。"},
    "kiosk.capture": {"en": "Take photo", "zh": "拍照"},
    "kiosk.upload": {"en": "Or upload photos", "zh": "或上传照片"},
    "kiosk.enrol": {"en": "Save my face", "zh": "保存人脸"},
    "kiosk.enrolled": {"en": "Face saved. Encrypted templates stored:", "zh": "人脸已保存。加密模板数："},
    "kiosk.photos": {"en": "photos ready", "zh": "张照片已就绪"},
    "kiosk.quality": {"en": "Quality", "zh": "质量"},
    "kiosk.done": {"en": "All done. Enjoy your evening!", "zh": "全部完成，祝您玩得开心！"},
    "kiosk.privacy": {
        "en": "We store encrypted face templates, never photos. You can revoke consent or erase your data at any time.",
        "zh": "我们只保存加密的人脸模板，不保存照片。您可随时撤回同意或删除数据。",
    },
    # kiosk self-service (issue 13): see, withdraw, erase — password + live face for every change
    "self.title": {"en": "Already registered? See or change your data", "zh": "已登记？查看或更改您的数据"},
    "self.find_hint": {
        "en": "Your mobile number and payment password show your consents. Every change also needs your "
        "password again and a live face capture.",
        "zh": "输入手机号和支付密码即可查看您的授权。每项更改都需再次输入支付密码并现场拍摄人脸。",
    },
    "self.find": {"en": "Show my data", "zh": "查看我的数据"},
    "self.account": {"en": "Your account:", "zh": "您的账户："},
    "self.consents": {"en": "Your consents", "zh": "您的授权"},
    "self.active": {"en": "given", "zh": "已授权"},
    "self.withdrawn": {"en": "withdrawn", "zh": "已撤回"},
    "self.none": {"en": "You have given no consent.", "zh": "您未授权任何用途。"},
    "self.revoke": {"en": "Withdraw", "zh": "撤回"},
    "self.erase": {"en": "Erase my account", "zh": "删除我的账户"},
    "self.done": {"en": "Done", "zh": "完成"},
    "self.purpose.face_payment": {"en": "Face payment", "zh": "刷脸支付"},
    "self.purpose.sobriety_monitoring": {"en": "Sobriety monitoring", "zh": "醉酒状态监测"},
    "self.purpose.behaviour_profiling": {"en": "Spending-pattern checks", "zh": "消费行为分析"},
    "self.confirm_revoke": {"en": "Withdraw consent: {purpose}", "zh": "撤回授权：{purpose}"},
    "self.effect.face_payment": {
        "en": "Your face templates are deleted at once. You can still pay with your phone number and password. "
        "Erasing your account after this needs staff at the counter: there is no face left to check.",
        "zh": "您的人脸模板将立即删除，您仍可用手机号和支付密码付款。"
        "此后如需删除账户，须到前台由员工办理，因为已没有可核验的人脸。",
    },
    "self.effect.sobriety_monitoring": {
        "en": "Your sobriety measurements and your learnt normal are deleted at once. Decisions already taken "
        "on past payments stay as their evidence.",
        "zh": "您的醉酒监测数据和个人基准将立即删除。已作出的付款判断作为其依据保留。",
    },
    "self.effect.behaviour_profiling": {
        "en": "The data derived for this purpose is deleted at once.",
        "zh": "为此用途生成的数据将立即删除。",
    },
    "self.erase_deleted": {
        "en": "Deleted at once: your name, phone number, ID card number, payment password, face templates, "
        "consents and all sobriety data. You can no longer pay here, and your phone number can be registered again.",
        "zh": "立即删除：您的姓名、手机号、身份证号、支付密码、人脸模板、各项授权及全部醉酒监测数据。"
        "您将无法再在此付款，您的手机号可重新登记。",
    },
    "self.erase_kept": {
        "en": "Kept, because the law requires the venue to keep its accounting records: your past purchases and "
        "top-ups stay in the books, anonymised — no longer linked to your name, phone, ID or face. The audit log "
        "records that this account was erased. Money left on your balance stays in the books: ask staff to "
        "refund it before you erase.",
        "zh": "保留：依法场所须保存会计记录，您过去的消费和充值记录以匿名方式保留在账目中，"
        "不再与您的姓名、手机号、身份证号或人脸关联。审计日志会记录本账户已被删除。"
        "余额同样留在账目中：请在删除前找员工退还余额。",
    },
    "self.proof": {
        "en": "To confirm, enter your payment password and look at the camera: we take a short live clip "
        "(a photo is not accepted). Nothing is stored.",
        "zh": "请输入支付密码并看向摄像头确认：我们会拍摄一段简短的现场视频（不接受照片），不会保存。",
    },
    "self.upload": {"en": "Or choose a short video of your face", "zh": "或选择一段您的人脸短视频"},
    "self.confirm": {"en": "Confirm", "zh": "确认"},
    "self.cancel": {"en": "Cancel", "zh": "取消"},
    "self.need_face": {
        "en": "No live capture: look at the camera, or choose a short video.",
        "zh": "没有现场拍摄：请看向摄像头，或选择一段短视频。",
    },
    "self.staff_hint": {
        "en": "No camera, or no face saved? Staff at the counter can do this for you.",
        "zh": "没有摄像头或未保存人脸？请到前台由员工为您办理。",
    },
    "self.revoked_ok": {"en": "Consent withdrawn.", "zh": "授权已撤回。"},
    "self.erased_ok": {
        "en": "Your account has been erased. Thank you for visiting.",
        "zh": "您的账户已删除。感谢光临。",
    },
    "self.idle": {"en": "Closed after a minute without a touch.", "zh": "一分钟无操作，已关闭。"},
    # room
    "room.title": {"en": "Room", "zh": "包房"},
    "room.pair": {"en": "Pair this touchscreen", "zh": "绑定此点单屏"},
    "room.pair_hint": {
        "en": "Enter the device token issued by a manager for this room.",
        "zh": "请输入经理为本包房签发的设备令牌。",
    },
    "room.token": {"en": "Device token", "zh": "设备令牌"},
    "room.pair_button": {"en": "Pair", "zh": "绑定"},
    "room.menu": {"en": "Menu", "zh": "菜单"},
    "room.cart": {"en": "Your order", "zh": "您的订单"},
    "room.cart_empty": {"en": "Tap items to add them.", "zh": "点击商品加入订单。"},
    "room.total": {"en": "Total", "zh": "合计"},
    "room.clear": {"en": "Clear", "zh": "清空"},
    "room.pay_face": {"en": "Pay by face", "zh": "刷脸支付"},
    "room.pay_phone": {"en": "Pay with phone + password", "zh": "手机号+密码支付"},
    "room.identify_hint": {"en": "Look at the camera, or upload a photo.", "zh": "请看向摄像头，或上传照片。"},
    "room.identify": {"en": "Identify me", "zh": "识别我"},
    "room.hello": {"en": "Hello", "zh": "您好"},
    "room.not_you": {"en": "Not you? / Done", "zh": "不是您？/ 结束"},
    "room.high_price": {"en": "high-price", "zh": "高价"},
    "room.locked": {"en": "Locked", "zh": "已锁定"},
    "room.state.normal": {"en": "All items available", "zh": "全部商品可购买"},
    "room.state.tagged": {
        "en": "Protection on: high-price items are locked; other items need your password",
        "zh": "保护已开启：高价商品已锁定，其他商品需输入支付密码",
    },
    "room.state.recovering": {
        "en": "Recovering: high-price items stay locked for now",
        "zh": "恢复中：高价商品暂时仍锁定",
    },
    "room.password_title": {"en": "Enter your 6-digit payment password", "zh": "请输入6位支付密码"},
    "room.password_why": {"en": "Dual verification: face + password.", "zh": "双重验证：人脸 + 密码。"},
    "room.ok": {"en": "OK", "zh": "确定"},
    "room.cancel": {"en": "Cancel", "zh": "取消"},
    "room.delete": {"en": "Delete", "zh": "删除"},
    "room.charged": {"en": "Paid", "zh": "已支付"},
    "room.suspended": {"en": "Not charged — saved for later", "zh": "未扣款——已保存待确认"},
    "room.pending": {"en": "Requests saved while locked", "zh": "锁定期间保存的请求"},
    "room.pending_hint": {
        "en": "You are back to normal. Confirm or discard each request.",
        "zh": "您已恢复正常。请逐一确认或放弃。",
    },
    "room.pending_wait": {"en": "These can be confirmed after recovery.", "zh": "恢复后可确认这些请求。"},
    "room.confirm": {"en": "Confirm & pay", "zh": "确认并支付"},
    "room.discard": {"en": "Discard", "zh": "放弃"},
    "room.phone": {"en": "Mobile number", "zh": "手机号"},
    # staff
    "staff.thermal": {"en": "Thermal face state", "zh": "Thermal face state"},
    "staff.thermal_camera": {"en": "Thermal camera (optional)", "zh": "Thermal camera (optional)"},
    "staff.thermal_degree": {"en": "degree", "zh": "degree"},
    "staff.thermal_type": {"en": "Type of anomaly", "zh": "Type of anomaly"},
    "staff.login": {"en": "Staff sign-in", "zh": "员工登录"},
    "staff.username": {"en": "Username", "zh": "用户名"},
    "staff.password": {"en": "Password", "zh": "密码"},
    "staff.signin": {"en": "Sign in", "zh": "登录"},
    "staff.rooms": {"en": "Rooms", "zh": "包房"},
    "staff.alerts": {"en": "Alerts (live)", "zh": "警报（实时）"},
    "staff.suspended": {"en": "Suspended attempts", "zh": "被暂停的购买"},
    "staff.guests": {"en": "Guests", "zh": "顾客"},
    "staff.override": {"en": "Override", "zh": "人工处理"},
    "staff.override_title": {
        "en": "Staff override (reason required, audited)",
        "zh": "人工处理（必须填写原因，将被审计）",
    },
    "staff.action": {"en": "Action", "zh": "操作"},
    "staff.action.tag": {"en": "Tag (lock high-price items)", "zh": "标记（锁定高价商品）"},
    "staff.action.untag": {"en": "Untag (guest recovered)", "zh": "取消标记（已恢复）"},
    "staff.action.unlock": {"en": "Unlock password payment", "zh": "解锁密码支付"},
    "staff.reason": {"en": "Reason", "zh": "原因"},
    "staff.apply": {"en": "Apply", "zh": "执行"},
    "staff.timeline": {"en": "Timeline", "zh": "时间线"},
    "staff.evidence": {"en": "Sobriety evidence", "zh": "醉酒评估证据"},
    "staff.bill": {"en": "Bill for this visit", "zh": "本次消费账单"},
    "staff.checkout": {"en": "Check out (close tab)", "zh": "结账（关闭账单）"},
    "staff.search": {"en": "Search", "zh": "搜索"},
    "staff.manage": {"en": "Rooms & devices (manager)", "zh": "包房与设备（经理）"},
    "staff.new_room": {"en": "New room", "zh": "新建包房"},
    "staff.issue_token": {"en": "Issue device token", "zh": "签发设备令牌"},
    "staff.camera": {
        "en": "Camera (file, device index, RTSP URL or 'demo')",
        "zh": "摄像头（文件、设备号、RTSP 地址或 demo）",
    },
    "staff.no_alerts": {"en": "No alerts yet.", "zh": "暂无警报。"},
    "staff.none": {"en": "None.", "zh": "无。"},
    "col.guest": {"en": "Guest", "zh": "顾客"},
    "col.state": {"en": "State", "zh": "状态"},
    "col.item": {"en": "Item", "zh": "商品"},
    "col.amount": {"en": "Amount", "zh": "金额"},
    "col.reason": {"en": "Reason", "zh": "原因"},
    "col.time": {"en": "Time", "zh": "时间"},
    "col.actor": {"en": "Actor", "zh": "操作者"},
    "col.action": {"en": "Action", "zh": "动作"},
    "col.details": {"en": "Details", "zh": "详情"},
    "col.qty": {"en": "Qty", "zh": "数量"},
    "col.balance": {"en": "Balance", "zh": "余额"},
    "staff.topup": {"en": "Top up", "zh": "充值"},
    "staff.ack": {"en": "Handled", "zh": "已处理"},
    "staff.amount_yuan": {"en": "Amount (yuan)", "zh": "金额（元）"},
    "staff.balance": {"en": "Prepaid balance", "zh": "预付余额"},
    "staff.closed": {"en": "Visit closed: final bill", "zh": "已结账：最终账单"},
    "staff.no_visit": {"en": "No open visit.", "zh": "没有进行中的消费。"},
    "state.normal": {"en": "normal", "zh": "正常"},
    "state.tagged": {"en": "tagged", "zh": "已标记"},
    "state.recovering": {"en": "recovering", "zh": "恢复中"},
    "cat.song": {"en": "Songs", "zh": "点歌"},
    "cat.drink": {"en": "Drinks", "zh": "饮品"},
    "cat.snack": {"en": "Snacks", "zh": "小吃"},
    "cat.liquor": {"en": "Liquor", "zh": "酒类"},
    "cat.room_upgrade": {"en": "Room", "zh": "包房"},
    "cat.service": {"en": "Service", "zh": "服务"},
    "cat.food": {"en": "Food", "zh": "餐食"},
    "cat.beer": {"en": "Beer", "zh": "啤酒"},
    "cat.fruit": {"en": "Fruit", "zh": "水果"},
    "err.generic": {"en": "Something went wrong", "zh": "出错了"},
    **UX_MESSAGES,
}


def lang_of(request: Request) -> str:
    lang = request.cookies.get("sp_lang") or request.query_params.get("lang") or ""
    if lang in LANGS:
        return lang
    accept = request.headers.get("accept-language", "")
    return "zh" if accept.lower().startswith("zh") else "en"


def translate(key: str, lang: str) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]


def catalogue(lang: str) -> dict[str, str]:
    return {k: translate(k, lang) for k in MESSAGES}


def install_i18n(templates: Any) -> None:
    """Expose ``fen`` (money) and ``details`` (audit JSON) filters; ``t`` is bound per request in ``render``."""
    templates.env.filters["fen"] = lambda v: f"¥{int(v) / 100:,.2f}"
    templates.env.filters["details"] = audit_details


_HIDDEN_DETAILS = {"idempotency_key", "order_id", "posting_id", "visit_id"}


def audit_details(raw: str) -> str:
    """Audit JSON as short ``key: value`` pairs for people (ids shortened, plumbing keys dropped)."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return raw
    if not isinstance(data, dict):
        return str(data)
    parts = []
    for key, value in data.items():
        if key in _HIDDEN_DETAILS or value in (None, "", [], {}):
            continue
        if key.endswith("_fen") and isinstance(value, int):
            text = f"¥{value / 100:,.2f}"
        elif isinstance(value, str) and len(value) == 32 and value.isalnum():
            text = value[:8]
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key.removesuffix('_fen')}: {text}")
    return " · ".join(parts)


ITEM_NAMES_ZH: dict[str, str] = {
    "song-1": "点歌",
    "song-pack-10": "10首歌曲套餐",
    "song-priority": "优先点歌（插队）",
    "room-medium-1h": "升级中包（1小时）",
    "room-vip-1h": "升级VIP包房（1小时）",
    "room-extend-30m": "续房30分钟",
    "beer-tsingtao": "青岛啤酒 330毫升",
    "beer-snow": "雪花啤酒 500毫升",
    "beer-bucket-6": "青岛啤酒桶（6×330毫升）",
    "beer-craft": "精酿IPA 330毫升",
    "cola": "可口可乐 330毫升",
    "herbal-tea": "王老吉凉茶",
    "juice-orange": "鲜榨橙汁（扎）",
    "water": "矿泉水",
    "lemon-tea-jug": "冰柠檬茶（扎）",
    "popcorn": "爆米花",
    "sunflower-seeds": "瓜子",
    "chicken-wings": "香辣鸡翅",
    "snack-platter": "小吃拼盘（坚果、牛肉干、薯片）",
    "fruit-small": "果盘（小）",
    "fruit-large": "果盘（大）",
    "whisky-jw-red": "尊尼获加红牌 700毫升",
    "whisky-chivas-12": "芝华士12年 700毫升",
    "baijiu-erguotou": "红星二锅头 500毫升",
    "baijiu-wuliangye": "五粮液 500毫升",
    "wine-red": "招牌红酒 750毫升",
    "cocktail-mojito": "莫吉托",
    "shot-tequila": "龙舌兰（一杯）",
    "birthday-cake": "生日蛋糕+生日歌",
    "mic-replacement": "加一支无线麦克风",
}


def item_name_zh(sku: str, fallback: str) -> str:
    return ITEM_NAMES_ZH.get(sku, fallback)
