"""Language codes of every source, keyed by the XQuAD (ISO 639-1) code.

Facts about the datasets, not configuration: Tatoeba uses ISO 639-3 and a pair
folder named ``eng-XXX`` or ``XXX-eng``; FLORES-200 uses ``code_Script``; NTREX-128
its own codes. XQuAD-R (LAReQA) has no Romanian.
"""

from __future__ import annotations

from dataclasses import dataclass

from .io import PipelineError

RAW = "https://raw.githubusercontent.com"
XQUAD_URL = RAW + "/google-deepmind/xquad/master/xquad.{lang}.json"
XQUAD_R_URL = RAW + "/google-research-datasets/lareqa/master/xquad-r/{lang}.json"
TATOEBA_URL = (
    RAW + "/Helsinki-NLP/OPUS-MT-testsets/master/datasets/helsinki_nlp/tatoeba/testsets/"
    "{pair}/tatoeba-test-v2021-08-07.{code}"
)
FLORES_URL = (
    RAW + "/Helsinki-NLP/OPUS-MT-testsets/master/datasets/facebook/flores/"
    "flores200_dataset/devtest/{code}.devtest"
)
NTREX_SRC_URL = RAW + "/MicrosoftTranslator/NTREX/main/NTREX-128/newstest2019-src.eng.txt"
NTREX_REF_URL = RAW + "/MicrosoftTranslator/NTREX/main/NTREX-128/newstest2019-ref.{code}.txt"


@dataclass(frozen=True)
class Language:
    code: str  # XQuAD, ISO 639-1
    tatoeba: str  # ISO 639-3 (Tatoeba Challenge)
    tatoeba_pair: str  # folder name of the pair
    flores: str
    ntrex: str
    in_xquad_r: bool = True


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in [
        Language("ar", "ara", "ara-eng", "arb_Arab", "arb"),
        Language("de", "deu", "deu-eng", "deu_Latn", "deu"),
        Language("el", "ell", "ell-eng", "ell_Grek", "ell"),
        Language("es", "spa", "eng-spa", "spa_Latn", "spa"),
        Language("hi", "hin", "eng-hin", "hin_Deva", "hin"),
        Language("ro", "ron", "eng-ron", "ron_Latn", "ron", in_xquad_r=False),
        Language("ru", "rus", "eng-rus", "rus_Cyrl", "rus"),
        Language("th", "tha", "eng-tha", "tha_Thai", "tha"),
        Language("tr", "tur", "eng-tur", "tur_Latn", "tur"),
        Language("vi", "vie", "eng-vie", "vie_Latn", "vie"),
        Language("zh", "cmn_Hans", "eng-cmn_Hans", "zho_Hans", "zho-CN"),
    ]
}
ENGLISH = "en"
XQUAD_LANGS = [ENGLISH, *LANGUAGES]  # 12
XQUAD_R_LANGS = [ENGLISH, *(c for c, lang in LANGUAGES.items() if lang.in_xquad_r)]  # 11


def get_language(code: str, *, where: str = "languages") -> Language:
    """Return the Language for an XQuAD code, or fail naming the config key."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise PipelineError(
            f"config key '{where}': unknown language code {code!r}; "
            f"known codes: {', '.join(sorted(LANGUAGES))}"
        ) from None


def source_urls(source: str, code: str) -> tuple[str, str]:
    """(English URL, foreign URL) of the bitext ``source`` for language ``code``."""
    lang = get_language(code)
    if source == "tatoeba":
        return (
            TATOEBA_URL.format(pair=lang.tatoeba_pair, code="eng"),
            TATOEBA_URL.format(pair=lang.tatoeba_pair, code=lang.tatoeba),
        )
    if source == "flores":
        return FLORES_URL.format(code="eng_Latn"), FLORES_URL.format(code=lang.flores)
    if source == "ntrex":
        return NTREX_SRC_URL, NTREX_REF_URL.format(code=lang.ntrex)
    raise PipelineError(f"config key 'bitext': unknown bitext source {source!r}")
