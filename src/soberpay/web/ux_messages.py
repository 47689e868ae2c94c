"""Strings of the room / staff / kiosk flows added for issue 13, kept in one table so they can move to the
gettext catalogs in one step. Guest-facing texts are neutral: they never carry a staff note or reason."""

from __future__ import annotations

UX_MESSAGES: dict[str, dict[str, str]] = {
    # room: the guest-safe notice and the confirmation step
    "room.notice.locked": {
        "en": "For your safety, premium items need staff approval tonight.",
        "zh": "为了您的安全，今晚高价商品需经员工确认。",
    },
    "room.notice.recovered": {
        "en": "Welcome back — all items are available again. Requests saved earlier are at the top.",
        "zh": "欢迎回来——全部商品已恢复可购买。之前保存的请求在最上方。",
    },
    "room.confirm_title": {"en": "Confirm payment", "zh": "确认支付"},
    "room.confirm_pay": {
        "en": "Pay {amount} from your balance ({left} left)?",
        "zh": "从余额支付 {amount}（剩余 {left}）？",
    },
    "room.confirm_face": {"en": "Confirm with my face", "zh": "刷脸确认"},
    "room.confirm_password": {"en": "Confirm with my password", "zh": "用支付密码确认"},
    "room.receipt": {"en": "Receipt", "zh": "收据"},
    "room.receipt_balance": {"en": "Balance", "zh": "余额"},
    "room.done": {"en": "Done", "zh": "完成"},
    "room.idle_cleared": {"en": "Order cleared after inactivity.", "zh": "长时间未操作，订单已清空。"},
    "room.who": {"en": "Who is paying?", "zh": "请问谁来支付？"},
    "room.cart_cleared": {"en": "Order cleared for the next guest.", "zh": "订单已清空。"},
    "room.msg.charged": {"en": "Paid.", "zh": "已支付。"},
    "room.msg.suspended": {
        "en": "Not charged. For your safety this premium item waits for staff approval; it is saved for later.",
        "zh": "未扣款。为了您的安全，此高价商品需员工确认，已为您保存。",
    },
    "room.msg.verification_required": {
        "en": "Please confirm with your face and your payment password.",
        "zh": "请用人脸和支付密码确认。",
    },
    "room.msg.password_rejected": {"en": "Wrong password. Please try again.", "zh": "密码错误，请重试。"},
    "room.msg.locked_out": {
        "en": "Too many wrong passwords. Please ask staff for help.",
        "zh": "密码错误次数过多，请联系员工。",
    },
    "room.msg.face_rejected": {
        "en": "We could not confirm your face. Try again or use your password.",
        "zh": "人脸未能确认，请重试或使用密码。",
    },
    "room.msg.refused": {"en": "Not charged. Please ask staff for help.", "zh": "未扣款，请联系员工。"},
    "room.msg.no_balance": {
        "en": "Not charged: not enough balance. Please top up at the counter.",
        "zh": "未扣款：余额不足，请到前台充值。",
    },
    "room.msg.confirmed": {"en": "Paid at the original price.", "zh": "已按原价支付。"},
    "room.msg.need_factor": {
        "en": "Each payment needs your face or your payment password.",
        "zh": "每次支付都需要刷脸或输入支付密码。",
    },
    # staff: the room-centred dashboard
    "staff.room_overview": {"en": "Rooms and guests", "zh": "包房与客人"},
    "staff.nobody": {"en": "nobody checked in", "zh": "暂无客人"},
    "staff.hp_locked": {"en": "high-price items locked", "zh": "高价商品已锁定"},
    "staff.held": {"en": "Held", "zh": "待确认"},
    "staff.held_discard": {"en": "Discard", "zh": "放弃"},
    "staff.checkin": {"en": "Check in to room", "zh": "入住包房"},
    "staff.no_room": {"en": "No room", "zh": "未分配包房"},
    "staff.pair_qr": {"en": "Pair tablet (QR)", "zh": "绑定平板（二维码）"},
    "staff.pair_qr_hint": {
        "en": "Scan with the room tablet's camera, or type the token on the pairing page.",
        "zh": "用包房平板扫描二维码，或在绑定页面输入令牌。",
    },
    "staff.signed_out": {"en": "Signed out.", "zh": "已退出登录。"},
    # kiosk: guest self-service
    "kiosk.self.title": {"en": "My data", "zh": "我的数据"},
    "kiosk.self.open": {"en": "See or change my consents, or delete my account", "zh": "查看或更改授权，或删除账户"},
    "kiosk.self.consents": {"en": "My consents", "zh": "我的授权"},
    "kiosk.self.revoke": {"en": "Withdraw", "zh": "撤回"},
    "kiosk.self.erase": {"en": "Delete my account", "zh": "删除我的账户"},
    "kiosk.self.proof": {
        "en": "To protect you, confirm with your payment password and a live photo of your face (or ask staff).",
        "zh": "为保护您，请输入支付密码并现场拍摄人脸（或请员工协助）。",
    },
    "kiosk.self.erase_what": {
        "en": "Deleted: your name, phone, ID number, face templates and monitoring data. Kept, as the law "
        "requires: payment and ledger records (amounts, times, items) and the audit log, without your "
        "name or face.",
        "zh": "将删除：姓名、手机号、身份证号、人脸模板和监测数据。依法保留：支付与账目记录（金额、时间、"
        "商品）和审计日志，但不含您的姓名和人脸。",
    },
    "kiosk.self.erased": {"en": "Your account has been deleted.", "zh": "您的账户已删除。"},
    "kiosk.self.revoked": {"en": "Consent withdrawn.", "zh": "授权已撤回。"},
    "kiosk.self.granted": {"en": "given", "zh": "已授权"},
    "kiosk.self.none": {"en": "No active consents.", "zh": "暂无有效授权。"},
}
