# frozen_string_literal: true

module CodomyrmexKeys
  # The status codes of the C contract (codomyrmex_status); the numbers are
  # permanent.
  module Status
    OK = 0
    NULL_POINTER = 1
    INVALID_ARGUMENT = 2
    INVALID_KEY_ID = 3
    UNSUPPORTED_ALGORITHM = 4
    BUFFER_TOO_SMALL = 5
    NOT_FOUND = 6
    ALREADY_EXISTS = 7
    VERIFY_FAILED = 8
    IO = 9
    INSECURE_PERMISSIONS = 10
    CORRUPT = 11
    INTERNAL = 12
  end

  # A failure of the library. #status is the codomyrmex_status number,
  # #status_name its name, #function the C function (without its
  # "codomyrmex_" prefix) and #detail the library's one-line explanation,
  # which never contains key material. Rescue a subclass to handle one
  # status: NotFoundError, VerifyFailedError, ...
  #
  # #errno is the operating system's error number behind the failure
  # (codomyrmex_last_os_error), or nil when the library decided on its own.
  # Like SystemCallError#errno, it is what SystemCallError.=== compares, so
  # `rescue Errno::EACCES` (or Errno::ENOTDIR, Errno::ETIMEDOUT...) catches
  # a library error with that errno, as it catches a failing File.open.
  class Error < StandardError
    # The status of this class; nil for Error itself, raised only for a
    # status number this binding does not know.
    STATUS = nil

    attr_reader :status, :function, :detail, :errno

    def initialize(detail = nil, status: self.class::STATUS, function: nil, errno: nil)
      @status = status
      @function = function
      @detail = detail
      @errno = errno&.positive? ? errno : nil
      text = +''
      text << "#{function}: " if function
      text << (detail && !detail.empty? ? "#{detail} (#{status_name})" : status_name)
      super(text)
    end

    def status_name
      CodomyrmexKeys.status_name(status || -1)
    end

    # The Errno class of #errno (Errno::EACCES for 13), or nil.
    def errno_class
      SystemCallError.new(nil, errno).class if errno
    end

    # The exception class for a status number.
    def self.for_status(status)
      CLASSES.fetch(status, Error)
    end
  end

  # One class per failing status.
  class NullPointerError < Error; STATUS = Status::NULL_POINTER; end
  class InvalidArgumentError < Error; STATUS = Status::INVALID_ARGUMENT; end
  class InvalidKeyIdError < Error; STATUS = Status::INVALID_KEY_ID; end
  class UnsupportedAlgorithmError < Error; STATUS = Status::UNSUPPORTED_ALGORITHM; end
  # Never raised by these bindings, which size every buffer themselves.
  class BufferTooSmallError < Error; STATUS = Status::BUFFER_TOO_SMALL; end
  class NotFoundError < Error; STATUS = Status::NOT_FOUND; end
  class AlreadyExistsError < Error; STATUS = Status::ALREADY_EXISTS; end
  class VerifyFailedError < Error; STATUS = Status::VERIFY_FAILED; end
  class IOError < Error; STATUS = Status::IO; end
  class InsecurePermissionsError < Error; STATUS = Status::INSECURE_PERMISSIONS; end
  class CorruptError < Error; STATUS = Status::CORRUPT; end
  class InternalError < Error; STATUS = Status::INTERNAL; end

  class Error
    CLASSES = [
      NullPointerError, InvalidArgumentError, InvalidKeyIdError, UnsupportedAlgorithmError,
      BufferTooSmallError, NotFoundError, AlreadyExistsError, VerifyFailedError, IOError,
      InsecurePermissionsError, CorruptError, InternalError
    ].to_h { |klass| [klass::STATUS, klass] }.freeze
  end
end
