import Crypto; import CArchive
