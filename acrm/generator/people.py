"""Personal data as real CRMs hold it: Russian and English names, messy phones, typo'd emails."""

from __future__ import annotations

import numpy as np

RU_MALE = (
    "Александр",
    "Дмитрий",
    "Максим",
    "Сергей",
    "Андрей",
    "Алексей",
    "Иван",
    "Михаил",
    "Никита",
    "Егор",
    "Артём",
    "Владимир",
    "Павел",
    "Роман",
    "Олег",
    "Кирилл",
)
RU_FEMALE = (
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Екатерина",
    "Татьяна",
    "Ирина",
    "Светлана",
    "Юлия",
    "Дарья",
    "Анастасия",
    "Полина",
    "Ксения",
    "Виктория",
    "Алина",
)
# Male surnames; the female form adds "а" (Иванов -> Иванова), as Russian surnames do.
RU_SURNAMES = (
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
)
EN_MALE = (
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "Thomas",
    "Daniel",
    "Oliver",
    "Harry",
    "George",
    "Jack",
)
EN_FEMALE = (
    "Mary",
    "Emma",
    "Olivia",
    "Sophia",
    "Emily",
    "Charlotte",
    "Amelia",
    "Grace",
    "Lucy",
    "Hannah",
    "Jessica",
    "Chloe",
)
EN_SURNAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Miller",
    "Clarke",
    "Walker",
    "Wright",
    "Green",
    "Hall",
    "Wood",
    "Turner",
)

_TRANSLIT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "y",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
)
EMAIL_DOMAINS_RU = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru", "inbox.ru")
EMAIL_DOMAINS_EN = ("gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com")
# Misspellings that people really type into forms.
DOMAIN_TYPOS = {
    "gmail.com": "gmial.com",
    "mail.ru": "mail.ry",
    "yandex.ru": "yandex.ry",
    "outlook.com": "outlok.com",
    "bk.ru": "bk.ry",
    "list.ru": "lsit.ru",
    "inbox.ru": "inbox.ry",
    "yahoo.co.uk": "yaho.co.uk",
    "icloud.com": "icloud.co",
}


def transliterate(text: str) -> str:
    return text.lower().translate(_TRANSLIT)


def names(
    rng: np.random.Generator, is_russian: np.ndarray, is_female: np.ndarray
) -> tuple[list[str], list[str]]:
    """First and last names, in Cyrillic for Russian speakers and Latin otherwise."""
    n = len(is_russian)
    pick = rng.random((n, 2))
    first, last = [], []
    for i in range(n):
        if is_russian[i]:
            pool = RU_FEMALE if is_female[i] else RU_MALE
            surname = RU_SURNAMES[int(pick[i, 1] * len(RU_SURNAMES))]
            last.append(surname + "а" if is_female[i] else surname)
        else:
            pool = EN_FEMALE if is_female[i] else EN_MALE
            last.append(EN_SURNAMES[int(pick[i, 1] * len(EN_SURNAMES))])
        first.append(pool[int(pick[i, 0] * len(pool))])
    return first, last


def mobile_numbers(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """Canonical E.164 digits (no plus) of a mobile number per person, unique."""
    n = len(country)
    numbers = np.empty(n, dtype=object)
    drawn = rng.integers(900_000_0000, 999_999_9999, size=n + n // 10 + 16, dtype=np.int64)
    _, first_seen = np.unique(drawn, return_index=True)
    ru = drawn[np.sort(first_seen)][:n]  # unique, in draw order, so deterministic
    for i in range(n):
        body = int(ru[i])
        match country[i]:
            case "GB":
                numbers[i] = f"447{body % 1_000_000_000:09d}"
            case "DE":
                numbers[i] = f"4915{body % 1_000_000_000:09d}"
            case "KZ":
                numbers[i] = f"770{body % 100_000_000:08d}"
            case _:
                numbers[i] = f"7{body:010d}"
    return numbers


def crm_phone_format(e164_digits: str, style: int) -> str:
    """How a manager typed the number into the CRM: five real-world styles."""
    if not e164_digits.startswith("7") or len(e164_digits) != 11:
        return "+" + e164_digits if style % 2 == 0 else "00" + e164_digits
    d = e164_digits[1:]
    match style:
        case 0:
            return f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}"
        case 1:
            return f"8 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}"
        case 2:
            return f"8{d}"
        case 3:
            return f"+7{d}"
        case _:
            return f"{d[:3]}-{d[3:6]}-{d[6:8]}{d[8:]}"


def telephony_format(e164_digits: str, leading_eight: bool) -> str:
    """How the carrier presents the number in Asterisk's CDR (7… or 8… for Russia)."""
    if e164_digits.startswith("7") and len(e164_digits) == 11 and leading_eight:
        return "8" + e164_digits[1:]
    return e164_digits


def email_address(first: str, last: str, is_russian: bool, pick: float, number: int) -> str:
    domains = EMAIL_DOMAINS_RU if is_russian else EMAIL_DOMAINS_EN
    domain = domains[int(pick * len(domains))]
    local = f"{transliterate(first)}.{transliterate(last)}"
    if number % 3 == 0:
        local = f"{transliterate(first)[0]}{transliterate(last)}{number % 100}"
    return f"{local}@{domain}"


def with_typo(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local}@{DOMAIN_TYPOS.get(domain, domain)}"
