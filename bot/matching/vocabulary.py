"""Words the matcher treats specially: fillers it ignores, spellings it merges, and the words that say whether
a message is about e-mail at all (or about SSH, databases, games, websites… which share words like "port",
"server", "certificate" and "timed out" with the knowledge base).

These lists describe the language of the domain, not the knowledge base: content lives in `knowledge/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


def _words(text: str) -> frozenset[str]:
    """A word list written as running text."""
    return frozenset(text.split())


# Words that carry no topic: question words, pronouns, chat fillers, negations (a question and its error
# message differ mostly in these: "can't connect" / "cannot connect" / "unable to connect").
STOPWORDS: frozenset[str] = _words(
    """
    a about above after again all also am an and any anyone anybody anything are arent as at be because
    been before being below between both but by can cant cannot could couldnt did didnt do does doesnt
    doing dont down during each few for from further had hadnt has hasnt have havent having he her here
    hers herself him himself his how i id ill im ive if in into is isnt it its itself just let lets me
    more most my myself no nor not now of off on once only or other our ours ourselves out over own same
    she should shouldnt so some such than that thats the their theirs them themselves then there theres
    these they this those through to too under until up very was wasnt we were werent what whats when
    where wheres which while who whos whom why will with wont would wouldnt you your youre yours
    yourself yourselves u ur r ya yall pls plz please thx thanks thank ty hi hey hello hiya yo guys
    folks everyone someone somebody help helps helping anyone know knows idea ideas any sure maybe
    really actually still already even again keep keeps kept says say said saying tell tells told try
    tried trying tries want wanted need needs needed like just also ok okay okey yes yeah yep nope hmm
    um uh uhh lol lmao haha way thing things stuff something anything everything one ones someone since
    unable able via per using use used uses work works working worked worky set sets should must might
    may shall time times today now day days
    """
)

# Spellings merged before anything else: abbreviations, common misspellings that a typo search would not reach
# (four letters is too short to correct safely), and brand names that mean one thing here.
SYNONYMS: Mapping[str, str] = {
    "pop": "pop3",
    "pop3s": "pop3 ssl",
    "imaps": "imap ssl",
    "imap4": "imap",
    "smtps": "smtp ssl",
    "esmtp": "smtp",
    "smpt": "smtp",
    "stmp": "smtp",
    "smtpd": "smtp",
    "imao": "imap",
    "iamp": "imap",
    "mail": "email",
    "mails": "email",
    "emails": "email",
    "emial": "email",
    "emai": "email",
    "mial": "email",
    "pw": "password",
    "pwd": "password",
    "passwd": "password",
    "pass": "password",
    "passwords": "password",
    "creds": "credentials",
    "auth": "authentication",
    "authenticate": "authentication",
    "authenticated": "authentication",
    "authenticating": "authentication",
    "cert": "certificate",
    "certs": "certificate",
    "certificates": "certificate",
    "config": "settings",
    "configure": "settings",
    "configuration": "settings",
    "configured": "settings",
    "setting": "settings",
    "setup": "settings",
    "iphone": "ios",
    "ipad": "ios",
    "ipados": "ios",
    "macos": "mac",
    "osx": "mac",
    "macbook": "mac",
    "tbird": "thunderbird",
    "msg": "message",
    "msgs": "message",
    "wlan": "wifi",
    "hotspot": "wifi",
    "av": "antivirus",
    "avast": "antivirus",
    "avg": "antivirus",
    "norton": "antivirus",
    "kaspersky": "antivirus",
    "bitdefender": "antivirus",
    "eset": "antivirus",
    "mcafee": "antivirus",
    "econnrefused": "connection refused",
    "etimedout": "timeout",
    "timedout": "timeout",
    "enotfound": "name not known",
    "o365": "office365",
    "m365": "office365",
    "ms365": "office365",
    "2fa": "2fa",
    "mfa": "2fa",
    "oauth2": "oauth",
    "oauth": "oauth",
    "reachable": "open",
    "recieve": "receive",
    "recieving": "receiving",
    "certficate": "certificate",
    "certifcate": "certificate",
}

# Word sequences that mean one thing ("timed out" = "timeout"), merged before stemming.
PHRASES: Mapping[tuple[str, ...], str] = {
    ("e", "mail"): "email",
    ("em", "client"): "emclient",
    ("timed", "out"): "timeout",
    ("time", "out"): "timeout",
    ("times", "out"): "timeout",
    ("timing", "out"): "timeout",
    ("log", "in"): "login",
    ("log", "on"): "login",
    ("logon",): "login",
    ("sign", "in"): "login",
    ("signin",): "login",
    ("signing", "in"): "login",
    ("logging", "in"): "login",
    ("wi", "fi"): "wifi",
    ("office", "365"): "office365",
    ("microsoft", "365"): "office365",
    ("exchange", "online"): "office365",
    ("anti", "virus"): "antivirus",
    ("two", "factor"): "2fa",
    ("2", "factor"): "2fa",
    ("two", "step"): "2fa",
    ("2", "step"): "2fa",
    ("multi", "factor"): "2fa",
    ("app", "specific"): "app",
    ("application", "specific"): "app",
    ("set", "up"): "settings",
    ("port", "number"): "port",
    ("port", "numbers"): "port",
    ("self", "signed"): "selfsigned",
    ("selfsigned",): "selfsigned",
    ("starttls",): "starttls",
    ("start", "tls"): "starttls",
    ("ssl", "tls"): "ssl tls",
    ("no", "ssl"): "unencrypted",
    ("without", "ssl"): "unencrypted",
    ("no", "tls"): "unencrypted",
    ("without", "tls"): "unencrypted",
    ("no", "encryption"): "unencrypted",
    ("without", "encryption"): "unencrypted",
    ("not", "encrypted"): "unencrypted",
    ("plain", "text"): "plaintext",
    ("clear", "text"): "plaintext",
    ("cleartext",): "plaintext",
    ("remote", "desktop"): "rdp",
    ("web", "site"): "website",
    ("web", "server"): "webserver",
}

# Words that place a message in e-mail land. Matched after SYNONYMS, before stemming.
MAIL_TERMS: frozenset[str] = _words(
    """
    email inbox mailbox mailboxes imap pop3 smtp starttls stls outlook thunderbird smtplib imaplib
    poplib nodemailer phpmailer mailkit javamail swaks dovecot postfix exim sendmail webmail gmail
    googlemail hotmail yahoo icloud aol gmx zoho fastmail yandex proton protonmail mutt neomutt
    mailspring bluemail k9 outgoing submission submissions imapclient maildrop mx autoconfig
    autodiscover ispdb office365 exchange
    emclient mailbird postbox airmail betterbird kmail geary sylpheed seamonkey fairemail deltachat
    roundcube rainloop snappymail zimbra sogo mailcow mailu iredmail hmailserver mdaemon smartermail
    msmtp ssmtp mailutils mailx davmail activesync owa ews tutanota posteo
    sendgrid mailgun mailjet postmark brevo sendinblue mandrill sparkpost swiftmailer mailer gomail lettre
    """
)

# Words that place a message elsewhere: other services, other protocols, other kinds of server.
OFF_DOMAIN_TERMS: frozenset[str] = _words(
    """
    ssh sshd sftp ftp ftps scp rdp vnc teamviewer anydesk vpn openvpn wireguard ipsec l2tp pptp
    tailscale postgres postgresql psql sql mysql mariadb mongodb mongo redis sqlite mssql oracle database db
    elasticsearch minecraft game games gaming steam xbox playstation psn valorant fortnite roblox csgo
    lobby multiplayer website websites browser chrome firefox nginx apache httpd iis tomcat caddy
    wordpress cloudflare webserver docker kubernetes kubectl k8s git github gitlab npm pip curl wget
    https http react localhost3000 django flask jenkins gradle maven mvn yarn pnpm conda artifactory
    zoom spotify netflix printer rpi raspberry plex
    jellyfin samba smb nfs api endpoint webhook frontend backend apt yum dnf router modem discord
    confirmation registration signup otp drive youtube
    """
)

# Ports of other services: a message about them is not about a mail client.
OFF_DOMAIN_PORTS: frozenset[int] = frozenset(
    {
        20,
        21,
        22,
        23,
        53,
        80,
        443,
        445,
        500,
        1194,
        1433,
        1521,
        1723,
        3000,
        3306,
        3389,
        4500,
        5000,
        5432,
        5900,
        6379,
        8000,
        8080,
        8443,
        9000,
        9200,
        11211,
        25565,
        27015,
        27017,
        51820,
    }
)

# Mail ports known even to a knowledge base without a ports table (the table adds its own).
MAIL_PORTS: frozenset[int] = frozenset({25, 110, 143, 465, 587, 993, 995, 2525})

# Suffixes removed so that "connecting", "connected" and "connection" meet; checked longest first.
SUFFIXES: tuple[str, ...] = (
    "ations",
    "ation",
    "ings",
    "ing",
    "ions",
    "ion",
    "edly",
    "ed",
    "ies",
    "es",
    "s",
    "e",
)

# Everyday words that are not stopwords but say little about which answer fits ("right", "change", "new").
# A word from this list weighs little even when an entry happens to use it, and a misspelling close to one of
# them is not "corrected" into a knowledge-base word.
COMMON_WORDS: frozenset[str] = _words(
    """
    get gets getting got check checked checking right correct correctly best better good bad great fine
    new old big small large little first last next other others different same possible properly anymore
    always never sometimes often every many much lot lots problem problems issue issues question
    questions fix fixed fixing solve solved mean means meaning happen happens happened happening
    suddenly ago yesterday tomorrow morning evening night week weeks month months year years weird
    strange annoying stuck random randomly completely totally basically literally exactly probably
    definitely thing person people friend dad mom mum wife husband boss work job office home house
    school company business computer pc laptop phone device devices machine program programs software
    tool tools update updated updating upgrade upgraded install installed reinstall reinstalled restart
    restarted reboot click clicked press pressed button screen page tab menu option options box field
    dialog popup pop-up enter entered put add added show shows showing shown look looked looking see
    seen saw read go going went come comes came make made making take took give gave start started stop
    stopped run running ran turn turned call called hour hours minute minutes second seconds long short
    quick quickly slow slowly fast again back still yet everything nothing anything something somewhere
    anywhere everywhere nobody everybody question asking ask asked answer answered reply guide tutorial
    video link post channel server thanks thankyou appreciate appreciated sorry excuse welcome cool nice
    awesome perfect amazing well also though although however anyway otherwise instead rather quite
    pretty enough almost which whose whatever whenever wherever however least less few several couple
    half whole instant instantly immediately forever ages age awhile vanish vanished vanishes disappear
    disappeared gone usual usually normal normally typical typo typos simple easy hard difficult clear
    exact specific general entire real actual actually main extra full empty free paid cheap expensive
    huge tiny total seem seems seemed wonder wondering guess think thought believe hope wish figure
    figured understand understood explain explained care bother worry matter mind notice noticed realize
    realized remember forget forgot wait waiting waited hit hitting tap tapped select selected choose
    chose pick picked prefer love hate replace replaced buy bought hold bring write wrote written paste
    pasted posted complain complains complaining bit kind sort part side place point reason clue hint
    tip tips advice solution workaround step steps end case fact example sample family kid kids team
    customer coworker colleague weekend monday tuesday wednesday thursday friday saturday sunday tonight
    lately recently since earlier later soon
    """
)
