//! `Software::parse` against Zeek's own list
//! (testing/btest/scripts/base/frameworks/software/version-parsing.zeek,
//! whose baseline reports success on every entry) and more real strings.

use super::*;

type Case = (
    &'static [u8],
    &'static [u8],
    [Option<u64>; 4],
    Option<&'static [u8]>,
);

/// Zeek's btest entries: unparsed, name, major..minor3, addl.
const ZEEK_BTEST: &[Case] = &[
    (
        b"OpenSSH_4.4",
        b"OpenSSH",
        [Some(4), Some(4), None, None],
        None,
    ),
    (
        b"OpenSSH_5.2",
        b"OpenSSH",
        [Some(5), Some(2), None, None],
        None,
    ),
    (
        b"Apache/2.0.63 (Unix) mod_auth_kerb/5.3 mod_ssl/2.0.63 OpenSSL/0.9.7a mod_fastcgi/2.4.2",
        b"Apache",
        [Some(2), Some(0), Some(63), None],
        Some(b"Unix"),
    ),
    (
        b"Apache/1.3.19 (Unix)",
        b"Apache",
        [Some(1), Some(3), Some(19), None],
        Some(b"Unix"),
    ),
    (
        b"ProFTPD 1.2.5rc1 Server (Debian)",
        b"ProFTPD",
        [Some(1), Some(2), Some(5), None],
        Some(b"rc1"),
    ),
    (
        b"wu-2.4.2-academ[BETA-18-VR14](1)",
        b"wu",
        [Some(2), Some(4), Some(2), None],
        Some(b"academ"),
    ),
    (
        b"wu-2.6.2(1)",
        b"wu",
        [Some(2), Some(6), Some(2), None],
        Some(b"1"),
    ),
    (
        b"Java1.2.2-JDeveloper",
        b"Java",
        [Some(1), Some(2), Some(2), None],
        Some(b"JDeveloper"),
    ),
    (
        b"Java/1.6.0_13",
        b"Java",
        [Some(1), Some(6), Some(0), Some(13)],
        None,
    ),
    (
        b"Python-urllib/3.1",
        b"Python-urllib",
        [Some(3), Some(1), None, None],
        None,
    ),
    (
        b"libwww-perl/5.820",
        b"libwww-perl",
        [Some(5), Some(820), None, None],
        None,
    ),
    (
        b"Wget/1.9+cvs-stable (Red Hat modified)",
        b"Wget",
        [Some(1), Some(9), None, None],
        Some(b"+cvs"),
    ),
    (
        b"Wget/1.11.4 (Red Hat modified)",
        b"Wget",
        [Some(1), Some(11), Some(4), None],
        Some(b"Red Hat modified"),
    ),
    (
        b"curl/7.15.1 (i486-pc-linux-gnu) libcurl/7.15.1 OpenSSL/0.9.8a zlib/1.2.3 libidn/0.5.18",
        b"curl",
        [Some(7), Some(15), Some(1), None],
        Some(b"i486-pc-linux-gnu"),
    ),
    (
        b"Apache",
        b"Apache",
        [None, None, None, None],
        None,
    ),
    (
        b"Zope/(Zope 2.7.8-final, python 2.3.5, darwin) ZServer/1.1 Plone/Unknown",
        b"Zope/(Zope",
        [Some(2), Some(7), Some(8), None],
        Some(b"final"),
    ),
    (
        b"The Bat! (v2.00.9) Personal",
        b"The Bat!",
        [Some(2), Some(0), Some(9), None],
        Some(b"Personal"),
    ),
    (
        b"Flash/10,2,153,1",
        b"Flash",
        [Some(10), Some(2), Some(153), Some(1)],
        None,
    ),
    (
        b"Flash%20Player/26.0.0.137 CFNetwork/811.5.4 Darwin/16.6.0 (x86_64)",
        b"Flash",
        [Some(26), Some(0), Some(0), Some(137)],
        Some(b"CFNetwork/811"),
    ),
    (
        b"mt2/1.2.3.967 Oct 13 2010-13:40:24 ord-pixel-x2 pid 0x35a3 13731",
        b"mt2",
        [Some(1), Some(2), Some(3), Some(967)],
        Some(b"Oct"),
    ),
    (
        b"CacheFlyServe v26b",
        b"CacheFlyServe",
        [Some(26), None, None, None],
        Some(b"b"),
    ),
    (
        b"Apache/2.0.46 (Win32) mod_ssl/2.0.46 OpenSSL/0.9.7b mod_jk2/2.0.4",
        b"Apache",
        [Some(2), Some(0), Some(46), None],
        Some(b"Win32"),
    ),
    (
        b"Apple iPhone v4.3.1 Weather v1.0.0.8G4",
        b"Apple iPhone",
        [Some(4), Some(3), Some(1), None],
        Some(b"Weather"),
    ),
    (
        b"Mozilla/5.0 (iPhone; U; CPU iPhone OS 4_3_2 like Mac OS X; en-us) AppleWebKit/533.17.9 (KHTML, like Gecko) Version/5.0.2 Mobile/8H7 Safari/6533.18.5",
        b"Safari",
        [Some(5), Some(0), Some(2), None],
        Some(b"Mobile"),
    ),
    (
        b"Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_7; en-US) AppleWebKit/534.16 (KHTML, like Gecko) Chrome/10.0.648.205 Safari/534.16",
        b"Chrome",
        [Some(10), Some(0), Some(648), Some(205)],
        None,
    ),
    (
        b"Opera/9.80 (Windows NT 6.1; U; sv) Presto/2.7.62 Version/11.01",
        b"Opera",
        [Some(11), Some(1), None, None],
        None,
    ),
    (
        b"Mozilla/5.0 (Windows; U; Windows NT 5.1; de; rv:1.9.2.11) Gecko/20101013 Lightning/1.0b2 Thunderbird/3.1.5",
        b"Thunderbird",
        [Some(3), Some(1), Some(5), None],
        None,
    ),
    (
        b"iTunes/9.0 (Macintosh; Intel Mac OS X 10.5.8) AppleWebKit/531.9",
        b"iTunes",
        [Some(9), Some(0), None, None],
        Some(b"Macintosh"),
    ),
    (
        b"Java1.3.1_04",
        b"Java",
        [Some(1), Some(3), Some(1), Some(4)],
        None,
    ),
    (
        b"Mozilla/5.0 (Linux; U; Android 2.3.3; zh-tw; HTC Pyramid Build/GRI40) AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
        b"Safari",
        [Some(4), Some(0), None, None],
        Some(b"Mobile"),
    ),
    (
        b"Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_6; en-us) AppleWebKit/533.20.25 (KHTML, like Gecko) Version/5.0.4 Safari/533.20.27",
        b"Safari",
        [Some(5), Some(0), Some(4), None],
        None,
    ),
    (
        b"Mozilla/5.0 (iPod; U; CPU iPhone OS 4_0 like Mac OS X; en-us) AppleWebKit/532.9 (KHTML, like Gecko) Version/4.0.5 Mobile/8A293 Safari/6531.22.7",
        b"Safari",
        [Some(4), Some(0), Some(5), None],
        Some(b"Mobile"),
    ),
    (
        b"Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54",
        b"Opera Mini",
        [Some(10), Some(54), None, None],
        None,
    ),
    (
        b"Opera/9.80 (J2ME/MIDP; Opera Mini/5.0.18741/18.794; U; en) Presto/2.4.15",
        b"Opera Mini",
        [Some(5), Some(0), Some(18741), None],
        None,
    ),
    (
        b"Opera/9.80 (Windows NT 5.1; Opera Mobi/49; U; en) Presto/2.4.18 Version/10.00",
        b"Opera Mobi",
        [Some(10), Some(0), None, None],
        None,
    ),
    (
        b"Mozilla/4.0 (compatible; MSIE 8.0; Android 2.2.2; Linux; Opera Mobi/ADR-1103311355; en) Opera 11.00",
        b"Opera",
        [Some(11), Some(0), None, None],
        None,
    ),
    (
        b"Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.7.2) Gecko/20040804 Netscape/7.2 (ax)",
        b"Netscape",
        [Some(7), Some(2), None, None],
        None,
    ),
    (
        b"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0; GTB5; SLCC1; .NET CLR 2.0.50727; Media Center PC 5.0; .NET CLR 3.0.04506; InfoPath.2)",
        b"MSIE",
        [Some(7), Some(0), None, None],
        None,
    ),
    (
        b"Mozilla/4.0 (compatible; MSIE 7.0b; Windows NT 5.1; Media Center PC 3.0; .NET CLR 1.0.3705; .NET CLR 1.1.4322; .NET CLR 2.0.50727; InfoPath.1)",
        b"MSIE",
        [Some(7), Some(0), None, None],
        Some(b"b"),
    ),
    (
        b"Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; SLCC2; .NET CLR 2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729; Media Center PC 6.0; Tablet PC 2.0; InfoPath.2; InfoPath.3)",
        b"MSIE",
        [Some(8), Some(0), None, None],
        None,
    ),
    (
        b"Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; WOW64; Trident/5.0)",
        b"MSIE",
        [Some(9), Some(0), None, None],
        None,
    ),
    (
        b"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; WOW64; Trident/5.0; SLCC2; .NET CLR 2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729; Media Center PC 6.0; .NET4.0C; .NET4.0E; InfoPath.3; Creative AutoUpdate v1.40.02)",
        b"MSIE",
        [Some(9), Some(0), None, None],
        None,
    ),
    (
        b"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)",
        b"MSIE",
        [Some(10), Some(0), None, None],
        None,
    ),
    (
        b"Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko",
        b"MSIE",
        [Some(11), Some(0), None, None],
        None,
    ),
    (
        b"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.3; Trident/7.0; .NET4.0E; .NET4.0C)",
        b"MSIE",
        [Some(11), Some(0), None, None],
        None,
    ),
    (
        b"The Bat! (3.0.1 RC3) Professional",
        b"The Bat!",
        [Some(3), Some(0), Some(1), None],
        Some(b"RC3"),
    ),
    (
        b"Total Commander",
        b"Total Commander",
        [None, None, None, None],
        None,
    ),
    (
        b"(vsFTPd 2.0.5)",
        b"vsFTPd",
        [Some(2), Some(0), Some(5), None],
        None,
    ),
    (
        b"Apple Mail (2.1084)",
        b"Apple Mail",
        [Some(2), Some(1084), None, None],
        None,
    ),
    (
        b"Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/420+ (KHTML, like Gecko) AdobeAIR/1.0",
        b"AdobeAIR",
        [Some(1), Some(0), None, None],
        None,
    ),
    (
        b"Mozilla/5.0 (Windows; U; en) AppleWebKit/420+ (KHTML, like Gecko) AdobeAIR/1.0",
        b"AdobeAIR",
        [Some(1), Some(0), None, None],
        None,
    ),
    (
        b"\\xe6\\xbc\\xab\\xe7\\x94\\xbb\\xe4\\xba\\xba 2.6.2 rv:1.2 (iPhone; iOS 10.3.2; en_US)",
        b"\xe6\xbc\xab\xe7\x94\xbb\xe4\xba\xba",
        [Some(2), Some(6), Some(2), None],
        Some(b"rv:1"),
    ),
    (
        b"%E6%9C%89%E9%81%93%E8%AF%8D%E5%85%B8/128 CFNetwork/760.2.6 Darwin/15.3.0 (x86_64)",
        b"\xe6\x9c\x89\xe9\x81\x93\xe8\xaf\x8d\xe5\x85\xb8",
        [Some(128), None, None, None],
        Some(b"CFNetwork/760"),
    ),
    (
        b"QQ%E9%82%AE%E7%AE%B1/5.3.2.8 CFNetwork/811.5.4 Darwin/16.6.0",
        b"QQ\xe9\x82\xae\xe7\xae\xb1",
        [Some(5), Some(3), Some(2), Some(8)],
        Some(b"CFNetwork/811"),
    ),
    (
        b"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
        b"Edge",
        [Some(15), Some(15063), None, None],
        None,
    ),
    (
        b"A/8.0.0/Google/Pixel#XL/marlin/unknown/QCX3/l8100358318783302904/-/1456904160/-/google/662107/662098/-",
        b"Android (Google Pixel)",
        [Some(8), Some(0), Some(0), None],
        None,
    ),
    (
        b"A/8.1.0/Google/Pixel#2/walleye/unknown/QCX3/l10660929675510745862/-/104360422/-/google/3606/3607/-",
        b"Android (Google Pixel)",
        [Some(8), Some(1), Some(0), None],
        None,
    ),
    (
        b"A/9/Google/Pixel#2/walleye/unknown/QCX3/l17463753539612639959/-/2406658516/-/google/724998/724992/-",
        b"Android (Google Pixel)",
        [Some(9), None, None, None],
        None,
    ),
    (
        b"A/9/Google/Pixel#2#XL/taimen/unknown/QCX3/l2640039522761750592/-/1061307257/-/google/1199700/1199701/-",
        b"Android (Google Pixel)",
        [Some(9), None, None, None],
        None,
    ),
    (
        b"A/9/Google/Pixel#2/walleye/unknown/QCX3/l9335055540778241916/-/1576068601/-/google/63672/63666/00:BOOT.XF.1.2.2.c1-00036-M8998LZB-2+01:TZ.BF.4.0.6-00152+03:RPM.BF.1.7-00128+11:MPSS.AT.2.0.c4.5-00253-8998_GEN_PACK-1.172723.1.178350.2+12:ADSP.HT.3.0-00372-CB8998-1+14:VIDEO.VE.4.4-00033+15:SLPI.HB.2.0.c3-00016-M8998AZL-1",
        b"Android (Google Pixel)",
        [Some(9), None, None, None],
        None,
    ),
];

fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for (s, name, nums, addl) in cases {
        let d = parse(s, &[(b"Flash Player".to_vec(), b"Flash".to_vec())]);
        let want = Version {
            major: nums[0],
            minor: nums[1],
            minor2: nums[2],
            minor3: nums[3],
            addl: addl.map(<[u8]>::to_vec),
        };
        if d.name != *name || cmp_versions(&d.version, &want) != Ordering::Equal {
            failures.push(format!(
                "{}: got {:?} {:?}, want {:?} {:?}",
                String::from_utf8_lossy(s),
                String::from_utf8_lossy(&d.name),
                d.version,
                String::from_utf8_lossy(name),
                want
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn zeek_version_parsing_btest() {
    assert_eq!(ZEEK_BTEST.len(), 60);
    check(ZEEK_BTEST);
}
