# frozen_string_literal: true

module CodomyrmexKeys
  # The native handle of an object that must be closed (a KeyManager, a
  # Keyring): lent to calls by #use, from many threads at once, and freed
  # exactly once by #close after the calls in progress. One never closed
  # is freed by the garbage collector, with a warning through Kernel#warn
  # (silenced by `ruby -W0`), since a process that relies on the collector
  # runs out of descriptors and locked memory long before it collects. Not
  # part of the public API.
  class Handle
    # +free+ releases +ptr+; +what+ names the object in errors ("key
    # manager"); +warning+ is the text printed for one never closed.
    def initialize(ptr, free, what, warning)
      @ptr = FFI::AutoPointer.new(ptr, free)
      @what = what
      @lock = Mutex.new
      @idle = ConditionVariable.new
      @users = 0
      ObjectSpace.define_finalizer(self, self.class.unclosed_warning(warning))
    end

    # The finalizer: a proc that holds the text, not the handle.
    def self.unclosed_warning(text)
      proc { warn text }
    end

    # Yields the pointer; #close waits until the block is done. Raises
    # NullPointerError once closed.
    def use(function)
      @lock.synchronize do
        raise NullPointerError.new("#{@what} is closed", function: function) if @ptr.nil?

        @users += 1
      end
      begin
        yield @ptr
      ensure
        @lock.synchronize do
          @users -= 1
          @idle.broadcast if @users.zero?
        end
      end
    end

    # Frees the pointer after the calls in progress. Idempotent.
    def close
      @lock.synchronize do
        @idle.wait(@lock) while @users.positive?
        @ptr&.free
        @ptr = nil
      end
      ObjectSpace.undefine_finalizer(self)
      nil
    end

    def closed?
      @lock.synchronize { @ptr.nil? }
    end
  end
end
